"""Policy API: the signed bundle of decision tables, and reload."""
