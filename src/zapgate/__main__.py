from zapgate.cli import main

raise SystemExit(main())
