"""Restore options: batch size, on-conflict, jobs, clean-first and a table subset."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Checkbox, Input, Label, Select

from katarestore_tui.app.preferences import MAX_JOBS, Preferences
from katarestore_tui.engine import MAX_BATCH_SIZE, MIN_BATCH_SIZE, ON_CONFLICT_MODES


class WholeNumber(Validator):
    """A whole number in [low, high]; the failure says why in the operator's words."""

    def __init__(self, low: int, high: int, what: str) -> None:
        super().__init__()
        self.low, self.high, self.what = low, high, what

    def validate(self, value: str) -> ValidationResult:
        text = value.strip().replace("_", "").replace(",", "")
        if not text:
            return self.failure(f"{self.what}: enter a whole number from {self.low:,} to {self.high:,}")
        try:
            number = int(text)
        except ValueError:
            return self.failure(f"{self.what}: {value.strip()!r} is not a whole number")
        if not self.low <= number <= self.high:
            return self.failure(f"{self.what}: {number:,} is outside {self.low:,} to {self.high:,}")
        return self.success()


class PlainCheckbox(Checkbox):
    """A checkbox whose mark is visible without colour: X when on, blank when off."""

    @property  # a property, so the mark follows the value
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "X" if self.value else " "


@dataclass
class ChosenOptions:
    batch_size: int
    on_conflict: str
    jobs: int
    clean: bool
    tables: list[str]


def _number(text: str) -> int:
    return int(text.strip().replace("_", "").replace(",", ""))


class OptionsForm(Vertical):
    """Every field validates as it is typed; `chosen()` is None while one is refused."""

    def __init__(self, prefs: Preferences, **kwargs) -> None:
        super().__init__(**kwargs)
        self.prefs = prefs

    def compose(self) -> ComposeResult:
        prefs = self.prefs
        with Horizontal(classes="form-row"):
            yield Label("Batch size", classes="form-label")
            yield Input(str(prefs.batch_size), id="batch-size", compact=True,
                        validators=[WholeNumber(MIN_BATCH_SIZE, MAX_BATCH_SIZE, "batch size")],
                        tooltip="records per COPY batch")
        yield Label(f"rows per COPY batch, {MIN_BATCH_SIZE:,} to {MAX_BATCH_SIZE:,}",
                    id="batch-reason", classes="reason")
        with Horizontal(classes="form-row", id="conflict-row"):
            yield Label("On conflict", classes="form-label")
            yield Select([(mode, mode) for mode in ON_CONFLICT_MODES], value=prefs.on_conflict,
                         allow_blank=False, id="on-conflict", compact=True)
            yield Label("Jobs", classes="form-label-short")
            yield Input(str(prefs.jobs), id="jobs", compact=True,
                        validators=[WholeNumber(1, MAX_JOBS, "jobs")])
        with Horizontal(classes="form-row"):
            yield Label("Tables", classes="form-label")
            yield Input(", ".join(prefs.tables), id="tables", compact=True,
                        placeholder="all (or: users, courses)")
        # destructive: unticked every time, never from the preferences
        yield PlainCheckbox("Clean first: empty the tables", False, id="clean", compact=True)

    @on(Input.Changed, "#batch-size, #jobs")
    def number_changed(self, event: Input.Changed) -> None:
        reason = self.query_one("#batch-reason", Label)
        result = event.validation_result
        if result is not None and not result.is_valid:
            reason.update(result.failure_descriptions[0])
            reason.add_class("-refused")
        else:
            self.refresh_reason()

    def refresh_reason(self) -> None:
        """Show the first refusal of any number field, else the batch-size hint."""
        reason = self.query_one("#batch-reason", Label)
        for field_id in ("#batch-size", "#jobs"):
            field = self.query_one(field_id, Input)
            result = field.validate(field.value)
            if result is not None and not result.is_valid:
                reason.update(result.failure_descriptions[0])
                reason.add_class("-refused")
                return
        reason.update(f"rows per COPY batch, {MIN_BATCH_SIZE:,} to {MAX_BATCH_SIZE:,}")
        reason.remove_class("-refused")

    def problems(self) -> list[tuple[Input, str]]:
        found = []
        for field_id in ("#batch-size", "#jobs"):
            field = self.query_one(field_id, Input)
            result = field.validate(field.value)
            if result is not None and not result.is_valid:
                found.append((field, result.failure_descriptions[0]))
        return found

    def forget_clean(self) -> None:
        """After a restore starts: the next one does not clean unless ticked again."""
        self.query_one("#clean", Checkbox).value = False

    def chosen(self) -> ChosenOptions | None:
        if self.problems():
            self.refresh_reason()
            return None
        tables = [t.strip() for t in self.query_one("#tables", Input).value.split(",") if t.strip()]
        return ChosenOptions(
            batch_size=_number(self.query_one("#batch-size", Input).value),
            on_conflict=str(self.query_one("#on-conflict", Select).value),
            jobs=_number(self.query_one("#jobs", Input).value),
            clean=self.query_one("#clean", Checkbox).value,
            tables=tables,
        )
