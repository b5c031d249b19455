"""The command line: ``stagewise-nas <command>`` (``nas_service.cli.main``) and one module per
command.  Each checks its settings before importing Ray, MLflow or torch, so that a bad flag costs
well under a second; ``nas_service.cli.common`` turns errors into exit statuses."""
