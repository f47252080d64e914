import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// Each option a backend declares (`BackendOption`) as a flag of its own, `--NAME VALUE`, in the
/// commands that fetch, under a help section named after the backend. ArgumentParser declares options
/// at compile time only, so the flags are spelled to it as the generic `--backend-option NAME=VALUE`
/// before parsing, and its help, completion scripts and `--experimental-dump-help` (the man page's
/// source) are given the flags after it wrote them.
struct BackendFlags {
    /// The backends whose options are flags, with the option each declares.
    let declared: [(backend: String, option: BackendOption)]

    /// The commands with the backends' flags (those with `PipelineOptions`).
    static let commands: Set<String> = ["fetch", "batch", "components", "conformance"]
    /// The generic spelling ArgumentParser knows.
    static let generic = "--backend-option"

    /// The options `backends` declare.
    init(_ backends: [any Backend]) {
        declared = backends.flatMap { backend in backend.descriptor.options.map { (backend.descriptor.name, $0) } }
    }

    /// The options of the command's backends (`PipelineOptions.backends`: its own, then `Backends.extra`),
    /// checked: each a lowercase name no other option or flag of the command has.
    static func checked() throws -> BackendFlags {
        // Not PipelineOptions.parse([]): parsing its flags costs 0.3 s of a debug build's start.
        let flags = BackendFlags(PipelineOptions.backends())
        guard !flags.declared.isEmpty else { return flags }
        let taken = Set(FetchCommand.longNames + BatchCommand.longNames + ComponentsCommand.longNames)
        var seen = Set<String>()
        for (backend, option) in flags.declared {
            guard option.name.wholeMatch(of: /[a-z0-9][a-z0-9-]*/) != nil else {
                throw PkgfetchError(.internal, "backend \(backend) declares option '\(PrintableLine.escaping(option.name))': not a lowercase flag name")
            }
            guard !taken.contains(option.name), seen.insert(option.name).inserted else {
                throw PkgfetchError(.internal, "backend \(backend) declares option --\(option.name), which the command already has")
            }
        }
        return flags
    }

    // MARK: Parsing

    /// `arguments` (without the program's name) with each declared `--NAME VALUE` and `--NAME=VALUE`
    /// of a fetching command spelled `--backend-option NAME=VALUE`; nothing after `--` is touched.
    func rewrite(_ arguments: [String]) throws -> [String] {
        guard !declared.isEmpty, let command = arguments.first, Self.commands.contains(command) else { return arguments }
        let names = Set(declared.map(\.option.name))
        var rewritten: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                rewritten += arguments[(index - 1)...]
                break
            }
            guard argument.hasPrefix("--") else { rewritten.append(argument); continue }
            let flag = argument.dropFirst(2)
            let name = String(flag.prefix { $0 != "=" })
            guard names.contains(name) else { rewritten.append(argument); continue }
            if flag.count > name.count {
                rewritten += [Self.generic, name + "=" + flag.dropFirst(name.count + 1)]
            } else {
                guard index < arguments.count else { throw PkgfetchError(.usage, "--\(name) needs a value (see 'pkgfetch help \(command)')") }
                rewritten += [Self.generic, name + "=" + arguments[index]]
                index += 1
            }
        }
        return rewritten
    }

    /// ArgumentParser's one line for an unknown option, pointing at a declared flag when one is nearer
    /// the mistyped name than what ArgumentParser suggested.
    func suggesting(_ line: String) -> String {
        guard let range = line.prefixMatch(of: /Unknown option '--([^']+)'/)?.range else { return line }
        let typed = String(line[range].dropFirst("Unknown option '--".count).dropLast())
        let nearest = declared.map { ($0.option.name, Self.distance($0.option.name, typed)) }.min { $0.1 < $1.1 }
        guard let (name, distance) = nearest, distance <= max(2, typed.count / 4) else { return line }
        if let suggested = line.firstMatch(of: /Did you mean '--([^']+)'\?/)?.range {
            let theirs = String(line[suggested].dropFirst("Did you mean '--".count).dropLast(2))
            guard distance < Self.distance(theirs, typed) else { return line }
            var pointed = line
            pointed.replaceSubrange(suggested, with: "Did you mean '--\(name)'?")
            return pointed
        }
        return "Unknown option '--\(typed)'. Did you mean '--\(name)'?" + line[range.upperBound...]
    }

    /// Levenshtein distance: edits from `a` to `b`.
    static func distance(_ a: String, _ b: String) -> Int {
        let (a, b) = (Array(a), Array(b))
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }

    // MARK: Help, completions, man page

    /// What ArgumentParser printed for a request that ends the run successfully (help, a completion
    /// script, the help dump), with the declared flags added.
    func augment(_ text: String, arguments: [String]) -> String {
        guard !declared.isEmpty else { return text }
        if let shell = arguments.firstIndex(of: "--generate-completion-script").map({ arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : "" }) {
            return completion(text, shell: shell)
        }
        if arguments.contains("--experimental-dump-help") { return dump(text) }
        return help(text)
    }

    /// One sentence on where the value comes from when the flag is not given.
    static func fallback(_ option: BackendOption) -> String {
        let parts = [option.environment.map { "environment: $\($0)" }, option.defaultValue.map { "default: \($0)" }].compactMap { $0 }
        return parts.isEmpty ? "" : " (\(parts.joined(separator: "; ")))"
    }

    /// A command's help, with a section per backend (`TEAMSTORE BACKEND:`) before its untitled `OPTIONS:`.
    func help(_ text: String) -> String {
        guard text.contains("  \(Self.generic) "), let options = text.firstRange(of: "\nOPTIONS:\n") else { return text }
        var sections = ""
        for backend in declared.map(\.backend).reduce(into: [String](), { if !$0.contains($1) { $0.append($1) } }) {
            sections += "\n\(backend.uppercased()) BACKEND:\n"
            for (owner, option) in declared where owner == backend {
                let label = "  --\(option.name) <value>"
                let words = (option.help + Self.fallback(option)).split(separator: " ").map(String.init)
                var lines: [String] = []
                var line = ""
                for word in words {
                    if !line.isEmpty, line.count + 1 + word.count > 54 { lines.append(line); line = "" }
                    line += line.isEmpty ? word : " " + word
                }
                if !line.isEmpty { lines.append(line) }
                let indent = String(repeating: " ", count: 26)
                let first = label.count < 25 ? label.padded(toLength: 26) + (lines.first ?? "") : label + "\n" + indent + (lines.first ?? "")
                sections += first + "\n" + lines.dropFirst().map { indent + $0 + "\n" }.joined()
            }
        }
        var augmented = text
        augmented.replaceSubrange(options.lowerBound..<options.lowerBound, with: sections)
        return augmented
    }

    /// A completion script with each declared flag beside `--backend-option`, wherever the script offers it.
    func completion(_ script: String, shell: String) -> String {
        var lines: [String] = []
        for line in script.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            guard line.contains("backend-option") else { lines.append(line); continue }
            switch shell {
            case "bash":
                // The command's list of options, and the case that completes an option's value.
                var line = line
                for (_, option) in declared {
                    line = line.replacing("\(Self.generic) ", with: "\(Self.generic) --\(option.name) ")
                        .replacing("\(Self.generic))", with: "\(Self.generic) --\(option.name))")
                        .replacing("'\(Self.generic)')", with: "'\(Self.generic)'|'--\(option.name)')")
                }
                lines.append(line)
            case "zsh":
                // `'*--backend-option[help]:name=value:'` in the command's argument specs.
                lines.append(line)
                let indent = String(line.prefix { $0 == " " })
                for (backend, option) in declared {
                    let help = "\(backend) backend: \(option.help)\(Self.fallback(option))"
                        .replacing("'", with: "'\\''").replacing("[", with: "\\[")
                        .replacing("]", with: "\\]").replacing(":", with: "\\:")
                    lines.append("\(indent)'--\(option.name)[\(help)]:value:'")
                }
            case "fish":
                // `complete -c 'pkgfetch' -n '…"pkgfetch fetch"' -l 'backend-option' -d '…' …`
                lines.append(line)
                guard let at = line.firstRange(of: " -l 'backend-option'") else { continue }
                for (backend, option) in declared {
                    let help = "\(backend) backend: \(option.help)\(Self.fallback(option))"
                        .replacing("\\", with: "\\\\").replacing("'", with: "\\'")
                    lines.append(line[..<at.lowerBound] + " -l '\(option.name)' -d '\(help)' -rfka ''")
                }
            default:
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `--experimental-dump-help` (what generate-manual reads) with each declared flag as an option of
    /// every command that has `--backend-option`, in a section named after its backend.
    func dump(_ json: String) -> String {
        guard var tool = JSONAny.parse(Data(json.utf8)) as? [String: Any],
              let command = tool["command"] as? [String: Any] else { return json }
        func adding(_ command: [String: Any]) -> [String: Any] {
            var command = command
            if var arguments = command["arguments"] as? [[String: Any]],
               let generic = arguments.first(where: { (($0["names"] as? [[String: Any]]) ?? []).contains { $0["name"] as? String == "backend-option" } }) {
                for (backend, option) in declared {
                    var flag = generic
                    let name: [String: Any] = ["kind": "long", "name": option.name]
                    flag["names"] = [name]
                    flag["preferredName"] = name
                    flag["valueName"] = "value"
                    flag["isRepeating"] = false
                    flag["sectionTitle"] = "\(backend.uppercased()) BACKEND"
                    // generate-manual lists options without their section: the abstract names the backend.
                    flag["abstract"] = "\(backend) backend: \(option.help)\(Self.fallback(option))"
                    flag["defaultValue"] = option.defaultValue
                    arguments.append(flag)
                }
                command["arguments"] = arguments
            }
            if let subcommands = command["subcommands"] as? [[String: Any]] { command["subcommands"] = subcommands.map(adding) }
            return command
        }
        tool["command"] = adding(command)
        return JSONAny.text(tool) ?? json
    }
}

extension ParsableArguments {
    /// Every long name the command's flags and options have (its `--experimental-dump-help`).
    static var longNames: [String] {
        guard let tool = JSONAny.parse(Data(_dumpHelp().utf8)) as? [String: Any],
              let command = tool["command"] as? [String: Any], let arguments = command["arguments"] as? [[String: Any]] else { return [] }
        return arguments.flatMap { ($0["names"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "long" }.compactMap { $0["name"] as? String } }
    }
}
