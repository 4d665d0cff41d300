"""`rasa` with the helpline's serving fixes installed.

    python -m bot.serving run --enable-api ...   # same arguments as `rasa run`

Only speed changes are installed (see the modules of this package); a
plain `rasa run` behaves the same, more slowly.
"""
import sys

from rasa.__main__ import main

from bot.serving import action_results

if __name__ == "__main__":
    action_results.install()
    sys.argv[0] = "rasa"
    main()
