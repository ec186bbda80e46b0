from katarestore_tui.cli import main

raise SystemExit(main())
