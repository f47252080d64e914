import ArgumentParser
import Pipeline

/// `fetch --include GLOB --strip-components N --rename-suffix S | --rename NAME`: what of the package
/// is installed under --dest, and under which names (`Shaping`; the same as a batch entry's fields and
/// a components recipe's).
struct ShapingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("With --dest: install only members whose path in the package (before stripping), or a directory above it, matches GLOB (repeatable; `*` and `?` stop at '/'; a GLOB matching nothing is an error, exit 33).", valueName: "glob"))
    var include: [String] = []

    @Option(name: .long, help: ArgumentHelp("With --dest: drop N leading path components of every member, as tar does; members with N or fewer are not installed.", valueName: "n"))
    var stripComponents = 0

    // Taken as it is even when it starts with '-' (a suffix such as -1.34.1 usually does).
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("With --dest: append SUFFIX to the name of every installed file (e.g. -1.34.1: kubelet becomes kubelet-1.34.1).", valueName: "suffix"))
    var renameSuffix: String?

    @Option(name: .long, help: ArgumentHelp("With --dest: install the package's one file as NAME (more than one file is an error, exit 33).", valueName: "name"))
    var rename: String?

    /// The shaping asked for; `usage` for a value that cannot be right.
    func shaping() throws -> Shaping {
        try Shaping(include: include, stripComponents: stripComponents, renameSuffix: renameSuffix, rename: rename)
    }

    func validate() throws {
        do {
            _ = try shaping()
        } catch let failure as PkgfetchError {
            throw ValidationError(failure.message)
        }
    }
}
