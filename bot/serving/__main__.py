"""`rasa` with the helpline's serving fixes installed.

    python -m bot.serving run --enable-api ...   # same arguments as `rasa run`

Only speed changes are installed (see the modules of this package); a
plain `rasa run` gives the same answers, more slowly. The settings' defaults
(bot/settings.py) are put into the environment first, for the `${VAR}`
values of credentials.yml and endpoints.yml.
"""
import sys

from rasa.__main__ import main

from bot.serving import action_results, event_types, graph_runner
from bot.settings import export_defaults

if __name__ == "__main__":
    export_defaults()  # credentials.yml and endpoints.yml expand ${VAR} from the environment
    action_results.install()
    event_types.install()
    graph_runner.install()
    sys.argv[0] = "rasa"
    main()
