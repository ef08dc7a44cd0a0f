"""The privacy reviewer's toolkit: data inventory, audit-log report, store scan."""
