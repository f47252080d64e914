/// An unpacker that can also read an archive while it is downloaded, front to back, from what has
/// landed in staging (`LandedContentReader`). The runner then unpacks into its staging tree as the
/// bytes arrive, and installs the tree only once the whole file is verified; a failed digest throws
/// the tree away, and a download that starts over starts the unpack over.
public protocol StreamingUnpacker: Unpacker {
    /// Whether archives of `format` can be unpacked from the front as they arrive.
    func streams(_ format: ArchiveFormat) -> Bool

    /// As `unpack`, reading `content` while it lands. Returns nil, having written nothing, when the
    /// content is not something it streams (the runner unpacks the verified file instead). Reads may
    /// throw `LandedContentReader.Superseded` or `.Abandoned`; whatever it throws then, the runner
    /// empties the directory and starts over, or stops. Blocks; the runner calls it on a thread of
    /// its own (it waits on the download, whose writes go through `BlockingIO`).
    func unpack(streaming content: LandedContentReader, format: ArchiveFormat, into directory: String,
                limits: UnpackLimits) throws -> UnpackReport?

    /// As `unpack(streaming:…)`, shaped as `unpack(_:format:into:limits:shaping:)` is.
    func unpack(streaming content: LandedContentReader, format: ArchiveFormat, into directory: String,
                limits: UnpackLimits, shaping: Shaping) throws -> UnpackReport?
}

extension StreamingUnpacker {
    /// Refuses any shaping but none, then unpacks as `unpack(streaming:format:into:limits:)`: what a
    /// streaming unpacker that does not shape gets.
    public func unpack(streaming content: LandedContentReader, format: ArchiveFormat, into directory: String,
                       limits: UnpackLimits, shaping: Shaping) throws -> UnpackReport? {
        guard shaping.isNone else { throw Shaping.unsupported(by: Self.self, format: format) }
        return try unpack(streaming: content, format: format, into: directory, limits: limits)
    }
}
