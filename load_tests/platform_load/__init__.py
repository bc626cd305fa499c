"""The parts of the Locust suite that locustfile.py assembles: settings, checks, cleanup, users.

Why a package: locustfile.py stays the file the README's commands name (``locust -f
locustfile.py``), short enough to read at a glance, while each concern lives in a module named for
it. Locust puts the locustfile's directory on ``sys.path`` while it imports the locustfile, so
``import platform_load`` works from load_tests/ and from the repository root alike; nothing here
may import lazily, because Locust takes that directory off the path again once the import is done.
"""
