from runtime.telemetry import exit_now
from starter.cli import main

exit_now(main())
