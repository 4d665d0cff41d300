"""Running the helpline as a cluster: the reverse proxy and the launcher."""
