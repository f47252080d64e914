extension String {
    /// The path `component` inside this directory path, joined by one `/` (`a` + `b` → `a/b`, `a/` + `b`
    /// → `a/b`): NSString's `appendingPathComponent` for the plain names pkgfetch joins, without Foundation.
    package func appendingPath(_ component: String) -> String {
        if isEmpty { return component }
        return hasSuffix("/") ? self + component : self + "/" + component
    }
}
