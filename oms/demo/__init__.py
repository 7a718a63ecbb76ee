"""Demo shop for `manage.py demo_data`: its static catalogue lives in data.py."""
