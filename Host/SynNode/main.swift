print("syneroym")
