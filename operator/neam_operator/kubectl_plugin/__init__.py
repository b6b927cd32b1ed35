"""``kubectl-neam``: a kubectl plugin for ForgeRuns (and, where it applies, ClawAgents and
AgentDAGs). ``kubectl neam --help`` lists the commands; docs/kubectl-neam.md is the manual."""
