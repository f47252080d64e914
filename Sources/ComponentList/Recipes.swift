#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// `components --recipes FILE`: what the node scripts' `case $name` blocks do after a download, as
/// data. A JSON object whose `recipes` maps a package name to where its files are installed and how
/// they are shaped, instead of being saved as they are into the package's download location:
///
///     {"recipes": {
///       "kubernetes-binaries": {"destination": "/usr/local/bin",
///                               "include": ["kubernetes/node/bin/kubelet", "kubernetes/node/bin/kubectl"],
///                               "stripComponents": 3, "renameSuffix": "-${version}"},
///       "azure-acr-credential-provider": {"destination": "/var/lib/kubelet/credential-provider",
///                                         "rename": "acr-credential-provider"}}}
///
/// Fields: `destination` (absolute; `--root` prefixes it; default the package's download location),
/// `unpack` (default true; false places the file as it is), and the shaping fields of a batch entry
/// (`include`, `stripComponents`, `renameSuffix`, `rename`). Strings are templates expanded per
/// version as `downloadURL` is (`URLTemplate`: `${version}`, `${CPU_ARCH}`, `${SYSTEMD_ARCH}`).
public struct Recipes: Sendable {
    /// By package name.
    public private(set) var byPackage: [String: Recipe]

    /// The largest recipes file read.
    public static let maxBytes = 1 << 20

    public init(_ byPackage: [String: Recipe] = [:]) { self.byPackage = byPackage }

    /// One package's recipe, as written (templates unexpanded).
    public struct Recipe: Sendable, Equatable {
        public var destination: String?
        public var unpack: Bool
        public var include: [String]
        public var stripComponents: Int
        public var renameSuffix: String?
        public var rename: String?
    }

    /// Where one version of a package goes, and how it is shaped there.
    public struct Applied: Sendable {
        public var destination: String
        public var unpack: Bool
        public var shaping: Shaping
    }

    /// `recipe` for one version of a package on `target`: templates expanded as `downloadURL` is, the
    /// destination (default `location`) checked, the shaping checked as a batch entry's fields are.
    public static func apply(_ recipe: Recipe, location: String?, version: String,
                             target: NodeTarget) throws(ComponentListError) -> Applied {
        func expanded(_ text: String) throws(ComponentListError) -> String {
            try URLTemplate.expand(text, version: version, target: target)
        }
        guard let destination = try recipe.destination.map(expanded) ?? location else {
            throw ComponentListError("no \"destination\", and the package has no download location")
        }
        if !destination.hasPrefix("/") || destination.split(separator: "/").contains(where: { $0 == ".." || $0 == "." })
            || destination.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
            throw ComponentListError("\"destination\" \"\(destination)\" is not a plain absolute path")
        }
        if !recipe.unpack, !recipe.include.isEmpty || recipe.stripComponents > 0 {
            throw ComponentListError("\"include\" and \"stripComponents\" choose members of an archive; with \"unpack\": false there are none")
        }
        var include: [String] = []
        for glob in recipe.include { include.append(try expanded(glob)) }
        let suffix = try recipe.renameSuffix.map(expanded), rename = try recipe.rename.map(expanded)
        do {
            let shaping = try Shaping(include: include, stripComponents: recipe.stripComponents, renameSuffix: suffix, rename: rename,
                                      names: .fields)
            return Applied(destination: destination, unpack: recipe.unpack, shaping: shaping)
        } catch {
            throw ComponentListError(PkgfetchError.from(error).message)
        }
    }

    /// Reads the file at `path`, refusing one larger than `limit` before holding more of it. Blocking.
    public static func load(path: String, limit: Int = maxBytes) throws(ComponentListError) -> Recipes {
        try Recipes(json: BoundedRead.contents(of: path, limit: limit, what: "the recipes file"), named: path)
    }

    /// Decodes and checks the file; a problem is one line naming the file, the line and column where
    /// they are known, and the package and field.
    public init(json data: Data, named path: String = "recipes file") throws(ComponentListError) {
        let text = Array(data)
        if let syntax = JSONSyntaxError.find(in: text) {
            throw ComponentListError("\(path):\(syntax.line):\(syntax.column): not JSON (expected \(syntax.expected))")
        }
        let file: RawFile
        do {
            file = try JSONDecoder().decode(RawFile.self, from: data)
        } catch let problem as FieldProblem {
            throw Self.describe(problem, path: path, text: text)
        } catch let error as DecodingError {
            throw Self.describe(FieldProblem(error), path: path, text: text)
        } catch {
            throw ComponentListError("\(path): \(error)")
        }
        var byPackage: [String: Recipe] = [:]
        for (name, raw) in file.recipes {
            do {
                byPackage[name] = try raw.checked()
            } catch let problem as FieldProblem {
                throw Self.describe(FieldProblem(path: ["recipes", name] + problem.path, problem: problem.problem), path: path, text: text)
            } catch {
                throw ComponentListError("\(path): recipe \"\(name)\": \(error)")
            }
        }
        self.byPackage = byPackage
    }

    /// What is wrong, and where: the keys from the top (`recipes`, a package name, a field).
    private struct FieldProblem: Error {
        var path: [String]
        var problem: String

        init(path: [String], problem: String) {
            self.path = path
            self.problem = problem
        }

        init(_ error: DecodingError) {
            let (context, problem): (DecodingError.Context?, String) = switch error {
            case .typeMismatch(let type, let context):
                (context, type == Bool.self ? "must be true or false" : type == Int.self ? "must be a whole number"
                    : type == String.self ? "must be a string" : "is not of the expected type (README \"Recipes\")")
            case .valueNotFound(_, let context): (context, "must not be null")
            case .keyNotFound(let key, let context): (context, "has no \"\(key.stringValue)\"")
            case .dataCorrupted(let context): (context, context.debugDescription)
            @unknown default: (nil, "is malformed")
            }
            self.init(path: (context?.codingPath ?? []).filter { $0.intValue == nil }.map(\.stringValue), problem: problem)
        }
    }

    private static func describe(_ problem: FieldProblem, path: String, text: [UInt8]) -> ComponentListError {
        // The place of the deepest key written plainly: each key searched after the one above it.
        var offset: Int?
        var from = 0
        for key in problem.path {
            guard let found = JSONTextPlace.offset(ofKey: key, in: text, from: from) else { break }
            offset = found
            from = found + 1
        }
        let place = offset.map { JSONTextPlace.lineAndColumn(ofOffset: $0, in: text) } ?? ""
        let named = problem.path.count >= 2 ? "recipe \"\(problem.path[1])\"" + problem.path.dropFirst(2).map { " \"\($0)\"" }.joined()
            : problem.path.first.map { "\"\($0)\"" } ?? "the file"
        return ComponentListError("\(path)\(place): \(named) \(problem.problem)")
    }

    private struct RawFile: Decodable {
        var recipes: [String: RawRecipe]

        init(from decoder: any Decoder) throws {
            try AnyKey.refuseUnknown(in: decoder, known: ["recipes"])
            let container = try decoder.container(keyedBy: AnyKey.self)
            recipes = try container.decode([String: RawRecipe].self, forKey: AnyKey("recipes"))
        }
    }

    private struct RawRecipe: Decodable {
        static let fields = ["destination", "unpack", "include", "stripComponents", "renameSuffix", "rename"]
        var recipe: Recipe

        init(from decoder: any Decoder) throws {
            try AnyKey.refuseUnknown(in: decoder, known: Self.fields)
            let container = try decoder.container(keyedBy: AnyKey.self)
            recipe = Recipe(destination: try container.decodeIfPresent(String.self, forKey: AnyKey("destination")),
                            unpack: try container.decodeIfPresent(Bool.self, forKey: AnyKey("unpack")) ?? true,
                            include: try container.decodeIfPresent([String].self, forKey: AnyKey("include")) ?? [],
                            stripComponents: try container.decodeIfPresent(Int.self, forKey: AnyKey("stripComponents")) ?? 0,
                            renameSuffix: try container.decodeIfPresent(String.self, forKey: AnyKey("renameSuffix")),
                            rename: try container.decodeIfPresent(String.self, forKey: AnyKey("rename")))
        }

        /// Applied once with a stand-in version, so a refused template or name is found before anything is fetched.
        func checked() throws -> Recipe {
            if !(0...1024).contains(recipe.stripComponents) {
                throw FieldProblem(path: ["stripComponents"], problem: "must be from 0 to 1024")
            }
            do {
                _ = try Recipes.apply(recipe, location: "/", version: "0", target: NodeTarget(os: "ubuntu", release: "22.04"))
            } catch {
                throw FieldProblem(path: [], problem: error.message)
            }
            return recipe
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }

        static func refuseUnknown(in decoder: any Decoder, known: [String]) throws {
            let keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
            if let unknown = keys.filter({ !known.contains($0) }).sorted().first {
                throw FieldProblem(path: decoder.codingPath.map(\.stringValue) + [unknown],
                                   problem: "is an unknown field (known: \(known.joined(separator: ", ")))")
            }
        }
    }
}
