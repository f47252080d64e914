/// One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1): a scheme and its parameters,
/// e.g. `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`.
public struct AuthChallenge: Sendable, Equatable {
    public enum Scheme: Sendable, Equatable {
        case basic
        case bearer
        case other(String)
    }

    public var scheme: Scheme
    /// Parameter names lower-cased; values unquoted and unescaped.
    public var parameters: [String: String]

    public init(scheme: Scheme, parameters: [String: String] = [:]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }
    /// Space-separated scopes, as the token spec allows several.
    public var scopes: [String] { parameters["scope"].map { $0.split(separator: " ").map(String.init) } ?? [] }

    /// All challenges in the given header values (a response may send several headers, and one
    /// header may hold several challenges separated by commas).
    public static func parse(_ values: [String]) -> [AuthChallenge] {
        values.flatMap { parse($0) }
    }

    /// The challenge pkgfetch answers: Bearer when offered (it scopes access), else Basic.
    public static func preferred(_ challenges: [AuthChallenge]) -> AuthChallenge? {
        challenges.first { $0.scheme == .bearer } ?? challenges.first { $0.scheme == .basic }
    }

    /// Parses one header value. Quoted strings may hold commas, `=` and escaped quotes; a token not
    /// followed by `=` starts the next challenge. Unknown syntax is skipped rather than failing, so
    /// one odd challenge does not hide a good one.
    public static func parse(_ header: String) -> [AuthChallenge] {
        var scanner = Scanner(Array(header.unicodeScalars))
        var challenges: [AuthChallenge] = []
        while true {
            scanner.skip { $0 == " " || $0 == "\t" || $0 == "," }
            guard !scanner.atEnd else { break }
            let name = scanner.token()
            guard !name.isEmpty else { scanner.advance(); continue }   // junk: step over it
            var challenge = AuthChallenge(scheme: Self.scheme(name))
            // Parameters until a token that is not followed by '=' (the next challenge's scheme).
            while true {
                scanner.skip { $0 == " " || $0 == "\t" || $0 == "," }
                let mark = scanner.position
                let key = scanner.token()
                scanner.skip { $0 == " " || $0 == "\t" }
                guard !key.isEmpty, scanner.peek == "=" else {
                    scanner.position = mark
                    break
                }
                scanner.advance()   // '='
                scanner.skip { $0 == " " || $0 == "\t" }
                let value = scanner.peek == "\"" ? scanner.quoted() : scanner.token()
                challenge.parameters[key.lowercased()] = value
            }
            challenges.append(challenge)
        }
        return challenges
    }

    static func scheme(_ name: String) -> Scheme {
        switch name.lowercased() {
        case "basic": .basic
        case "bearer": .bearer
        default: .other(name)
        }
    }
}

/// A cursor over unicode scalars with the few token rules HTTP needs.
private struct Scanner {
    let scalars: [Unicode.Scalar]
    var position = 0

    init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

    var atEnd: Bool { position >= scalars.count }
    var peek: Unicode.Scalar? { atEnd ? nil : scalars[position] }
    mutating func advance() { position += 1 }

    mutating func skip(while predicate: (Unicode.Scalar) -> Bool) {
        while let c = peek, predicate(c) { advance() }
    }

    /// An RFC 9110 token (tchar+), plus `/` so that a stray token68 is skipped as one piece.
    mutating func token() -> String {
        var out = String.UnicodeScalarView()
        while let c = peek, Self.isTokenChar(c) {
            out.append(c)
            advance()
        }
        return String(out)
    }

    /// A quoted-string starting at the opening quote; backslash escapes the next character.
    mutating func quoted() -> String {
        advance()
        var out = String.UnicodeScalarView()
        while let c = peek {
            advance()
            if c == "\"" { break }
            if c == "\\", let next = peek { out.append(next); advance(); continue }
            out.append(c)
        }
        return String(out)
    }

    static func isTokenChar(_ c: Unicode.Scalar) -> Bool {
        if c.properties.isAlphabetic && c.isASCII { return true }
        if ("0"..."9").contains(c) { return true }
        return "!#$%&'*+-.^_`|~/".unicodeScalars.contains(c)
    }
}
