"""A quick record count for the picker: exact for small files, extrapolated for big ones."""

from __future__ import annotations

from katarestore_tui.backup.catalog import Backup, TableFile
from katarestore_tui.backup.reader import BackupFormatError, RecordReader

SAMPLE_BYTES = 1024 * 1024


def estimate_records(table_file: TableFile, sample_bytes: int = SAMPLE_BYTES) -> tuple[int, bool]:
    """(records, exact): counts records in the first `sample_bytes` and scales by file size."""
    reader = RecordReader(table_file)
    counted, previous = 0, None
    try:
        for _index, _record in reader:
            position = reader.progress_bytes
            if previous is not None and position != previous and previous >= sample_bytes:
                # the records counted so far came from the first `previous` bytes
                return round(counted * table_file.size / previous), False
            previous = position
            counted += 1
    except BackupFormatError:
        return counted, False
    return counted, True


def estimate_backup(backup: Backup) -> dict[str, tuple[int, bool]]:
    return {f.path.name: estimate_records(f) for f in backup.files}
