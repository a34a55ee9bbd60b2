"""`fsconf demo`: a scripted meeting end to end, and a terminal phone to try it yourself."""
