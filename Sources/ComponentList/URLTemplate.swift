/// Expands a `downloadURL` template as the node scripts' `eval` would for the variables they set,
/// without a shell: `${version}` or `$version`, `${CPU_ARCH}`, `${SYSTEMD_ARCH}` (Linux only).
/// Anything else that a shell or PowerShell would evaluate — another variable, `$(…)`, a backtick, a
/// backslash — is refused: the file is data, and data does not run.
public enum URLTemplate {
    public static func expand(_ template: String, version: String, target: NodeTarget) throws(ComponentListError) -> String {
        var values = ["version": version, "CPU_ARCH": target.arch.cpuArch]
        if !target.isWindows { values["SYSTEMD_ARCH"] = target.arch.systemdArch }
        var result = ""
        var rest = Substring(template)
        while let index = rest.firstIndex(where: { $0 == "$" || $0 == "`" || $0 == "\\" }) {
            result += rest[..<index]
            guard rest[index] == "$" else { throw refusal(template, allowed: values.keys) }
            let afterDollar = rest[rest.index(after: index)...]
            let name: Substring
            if afterDollar.first == "{" {
                guard let close = afterDollar.firstIndex(of: "}") else { throw refusal(template, allowed: values.keys) }
                name = afterDollar[afterDollar.index(after: afterDollar.startIndex)..<close]
                rest = afterDollar[afterDollar.index(after: close)...]
            } else {
                name = afterDollar.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
                rest = afterDollar[name.endIndex...]
            }
            guard let value = values[String(name)] else { throw refusal(template, allowed: values.keys) }
            result += value
        }
        return result + rest
    }

    private static func refusal(_ template: String, allowed: Dictionary<String, String>.Keys) -> ComponentListError {
        let names = ["version", "CPU_ARCH", "SYSTEMD_ARCH"].filter(allowed.contains).map { "${\($0)}" }.joined(separator: ", ")
        return ComponentListError("template \"\(template)\" may use only \(names); refused, never evaluated")
    }
}
