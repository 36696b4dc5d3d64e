"""How our processes start: settings from the environment, the Temporal client with our data
converter, logging. Shared by the worker, the gateway, the starter and the run command."""
