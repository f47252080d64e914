extension String {
    /// The text after the last `/`, empty slashes skipped (`/a//b/` → `b`); empty when there is none.
    /// Split on the byte, not with NSString: swift-corelibs-foundation's path methods trap on a `//`
    /// followed by a non-ASCII last character (`https://h//é`, found by fuzzing the URL resolver), and a
    /// `/` followed by a combining mark is one Character, which a Character split would not see.
    package var lastPathComponent: String {
        utf8.split(separator: UInt8(ascii: "/")).last.map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
