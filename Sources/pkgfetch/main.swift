print("pkgfetch")
