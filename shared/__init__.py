"""What more than one service of the GitHub → Open Humans data source uses."""
