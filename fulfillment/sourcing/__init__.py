"""Sourcing: which location(s) ship an order (engine), under which rules, and the record of why."""
