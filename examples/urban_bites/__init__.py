"""Urban Bites: the ordering-assistant story of DESIGN §4, run against real services (``did-agents demo``)."""
