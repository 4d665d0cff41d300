"""Running the helpline as a cluster: HAProxy's configuration and the launcher of local processes."""
