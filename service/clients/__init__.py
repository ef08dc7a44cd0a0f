"""Client apps: who may call, with which API keys (stored only as hashes), for which jurisdictions."""
