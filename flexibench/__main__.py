from flexibench.cli import main

raise SystemExit(main())
