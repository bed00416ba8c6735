"""A package, so that its conftest does not collide with ``tests/conftest.py`` (module ``conftest``)."""
