"""Background loops: dispatcher, receipt inbox, webhook sender, sweeper."""
