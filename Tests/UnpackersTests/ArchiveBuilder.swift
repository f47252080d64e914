import Foundation

/// One entry of a test archive, exactly as it should be stored: any name, any type, any mode, so that
/// hostile archives can be written that no well-behaved tool would produce.
struct TestEntry: Encodable, Sendable {
    enum Kind: String, Encodable, Sendable { case file, dir, symlink, hardlink, chr, blk, fifo, socket }

    var name: String
    var type: Kind = .file
    var data: String?
    /// A file of this many zero bytes, written in blocks (for bombs).
    var zeros: Int?
    var mode: Int?
    var target: String?
    var mtime: Int?
    /// The stored name's bytes in hex, when they are not the UTF-8 of `name` (legacy code pages, backslashes).
    var raw: String?
    /// The owner stored in a tar header.
    var uid: Int?

    static func file(_ name: String, _ data: String = "", mode: Int = 0o644, mtime: Int? = nil) -> TestEntry {
        TestEntry(name: name, data: data, mode: mode, mtime: mtime)
    }
    static func dir(_ name: String, mode: Int = 0o755) -> TestEntry { TestEntry(name: name, type: .dir, mode: mode) }
    static func symlink(_ name: String, to target: String) -> TestEntry { TestEntry(name: name, type: .symlink, target: target) }
    static func hardlink(_ name: String, to target: String) -> TestEntry { TestEntry(name: name, type: .hardlink, target: target) }
    static func special(_ name: String, _ type: Kind) -> TestEntry { TestEntry(name: name, type: type, mode: 0o644) }
    static func zeros(_ name: String, count: Int) -> TestEntry { TestEntry(name: name, zeros: count, mode: 0o644) }
    /// A file whose stored name is `bytes`, shown as `name`.
    static func rawName(_ bytes: [UInt8], shownAs name: String, _ data: String = "x") -> TestEntry {
        TestEntry(name: name, data: data, mode: 0o644, raw: bytes.map { String(format: "%02x", $0) }.joined())
    }
}

/// Writes test archives with Python's zipfile and tarfile, which store whatever they are given.
enum ArchiveBuilder {
    enum Format: String, Encodable, Sendable { case zip, tar, tarGzip = "tar.gz", tarXz = "tar.xz", tarGnu = "tar-gnu" }

    private struct Spec: Encodable {
        let format: Format
        let entries: [TestEntry]
        /// Rewrites the first zip entry's declared uncompressed size (a lying bomb).
        let declaredSize: Int?
    }

    static func build(_ format: Format, _ entries: [TestEntry], at path: String, declaredSize: Int? = nil) throws {
        // The spec goes through a file: file contents would not fit in an argument.
        let scratch = try TemporaryDirectory()
        let spec = try scratch.path("spec.json")
        try JSONEncoder().encode(Spec(format: format, entries: entries, declaredSize: declaredSize))
            .write(to: URL(fileURLWithPath: spec))
        try Tool.run(try Tool.python3(), ["-c", script, spec, path])
    }

    private static let script = #"""
import json, os, stat, struct, sys, tarfile, time, zipfile

spec = json.load(open(sys.argv[1]))
out = sys.argv[2]
fmt = spec["format"]
TYPES = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "symlink": stat.S_IFLNK, "chr": stat.S_IFCHR,
         "blk": stat.S_IFBLK, "fifo": stat.S_IFIFO, "socket": stat.S_IFSOCK}

def stored_name(e):
    return bytes.fromhex(e["raw"]) if e.get("raw") else e["name"].encode("utf-8")

def chunks(e):
    if e.get("zeros") is not None:
        left = e["zeros"]
        while left > 0:
            n = min(left, 1 << 20)
            yield b"\0" * n
            left -= n
    else:
        yield (e.get("data") or "").encode("utf-8")

class Zeros:
    def __init__(self, size): self.left = size
    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return b"\0" * n

if fmt == "zip":
    class RawInfo(zipfile.ZipInfo):
        __slots__ = ("raw",)
        def _encodeFilenameFlags(self):
            if self.raw is None:
                return super()._encodeFilenameFlags()
            return self.raw, self.flag_bits
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for e in spec["entries"]:
            t = e.get("type", "file")
            zi = RawInfo(e["name"])
            zi.raw = bytes.fromhex(e["raw"]) if e.get("raw") else None
            zi.create_system = 3
            mode = e.get("mode") if e.get("mode") is not None else (0o755 if t == "dir" else 0o644)
            zi.external_attr = ((TYPES[t] | mode) << 16) | (0x10 if t == "dir" else 0)
            zi.date_time = time.gmtime(e.get("mtime") or 1700000000)[:6]
            zi.compress_type = zipfile.ZIP_DEFLATED if t == "file" else zipfile.ZIP_STORED
            if t == "symlink":
                z.writestr(zi, e["target"])
            elif t == "file":
                with z.open(zi, "w", force_zip64=bool(e.get("zeros"))) as f:
                    for c in chunks(e):
                        f.write(c)
            else:
                z.writestr(zi, b"")
    if spec.get("declaredSize") is not None:
        data = bytearray(open(out, "rb").read())
        struct.pack_into("<I", data, 22, spec["declaredSize"])
        central = data.find(b"PK\x01\x02")
        struct.pack_into("<I", data, central + 24, spec["declaredSize"])
        open(out, "wb").write(data)
else:
    modes = {"tar": "w", "tar-gnu": "w", "tar.gz": "w:gz", "tar.xz": "w:xz"}
    kind = tarfile.GNU_FORMAT if fmt == "tar-gnu" else tarfile.PAX_FORMAT
    tartypes = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}
    with tarfile.open(out, modes[fmt], format=kind, encoding="utf-8", errors="surrogateescape") as tf:
        for e in spec["entries"]:
            t = e.get("type", "file")
            ti = tarfile.TarInfo(os.fsdecode(stored_name(e)))
            ti.type = tartypes[t]
            ti.mode = e.get("mode") if e.get("mode") is not None else (0o755 if t == "dir" else 0o644)
            ti.mtime = e.get("mtime") or 1700000000
            ti.uid = ti.gid = e.get("uid") or 0
            if t in ("symlink", "hardlink"):
                ti.linkname = e["target"]
            if t == "file":
                if e.get("zeros") is not None:
                    ti.size = e["zeros"]
                    tf.addfile(ti, Zeros(ti.size))
                else:
                    data = (e.get("data") or "").encode("utf-8")
                    ti.size = len(data)
                    import io
                    tf.addfile(ti, io.BytesIO(data))
            else:
                tf.addfile(ti)
"""#
}
