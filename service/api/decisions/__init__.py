"""Decision API: one decision, or one actor against many targets."""
