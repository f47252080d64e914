import Pipeline

/// What a usage error adds so the next try can succeed: the help page to read, and the command meant
/// when the first argument names none.
enum UsageHints {
    /// The subcommands' names, in --help's order.
    static var subcommandNames: [String] {
        var names: [String] = []
        for command in Pkgfetch.configuration.subcommands {
            if let name = command.configuration.commandName { names.append(name) }
        }
        return names
    }

    /// `pkgfetch help fetch` when the arguments name a subcommand, else `pkgfetch help`.
    static func helpCommand(_ arguments: [String]) -> String {
        let names = subcommandNames
        guard arguments.count > 1, names.contains(arguments[1]) else { return "pkgfetch help" }
        return "pkgfetch help \(arguments[1])"
    }

    /// A first argument that is not an option and names no subcommand (`pkgfetch fecth URL`): named,
    /// with the closest subcommand when one is near, instead of ArgumentParser's "2 unexpected arguments".
    static func unknownSubcommand(_ arguments: [String]) -> PkgfetchError? {
        let names = subcommandNames
        guard arguments.count > 1, let typed = arguments.dropFirst().first, !typed.hasPrefix("-"),
              typed != "help", !names.contains(typed) else { return nil }
        let closest = names.map { ($0, editDistance($0, typed)) }.min { $0.1 < $1.1 }
        let hint = closest.flatMap { $0.1 <= 2 ? " (did you mean '\($0.0)'?)" : nil } ?? ""
        return PkgfetchError(.usage, "unknown command '\(PrintableLine.escaping(typed))'\(hint); the commands are \(names.joined(separator: ", ")) (see 'pkgfetch help')")
    }

    /// Levenshtein distance, on characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in 1...b.count {
                let above = row[j]
                row[j] = min(above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }
}
