"""The call flow: the join flow and the invited callee's flow, as explicit steps."""
