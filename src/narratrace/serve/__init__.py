"""The analyst's desk: REST API (``serve.api``), auth (``serve.auth``) and the web app that
serves them (``serve.app.create_app``), with the dashboard when it is installed.
Needs the ``web`` extra: ``pip install 'narratrace[web]'``."""
