import Foundation

/// Reads a file front to back in bounded chunks, for binary headers.
///
/// Every read states how many bytes it needs and fails with an ``InputError``
/// naming the byte offset when the file ends first; nothing is read past what a
/// header needs, so multi-gigabyte weight files cost only their header.
struct ByteSource {
  let handle: FileHandle
  let source: String
  let fileSize: UInt64
  private(set) var offset: UInt64 = 0
  private var buffer: [UInt8] = []
  private var bufferStart = 0

  init(path: String) throws {
    // A device, a pipe or a socket (/dev/zero, /proc/self/mem) is no model or
    // topology file: refused before it is read.
    var info = stat()
    if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
      throw InputError(
        .unreadable,
        source: path,
        message: "is not a regular file",
        fix: "Give the path of a file (or of a model folder)"
      )
    }
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
      let size = (attributes[.size] as? NSNumber)?.uint64Value,
      let handle = FileHandle(forReadingAtPath: path)
    else {
      throw InputError(
        .unreadable,
        source: path,
        message: "cannot open the file",
        fix: "Check the path and permissions"
      )
    }
    self.handle = handle
    self.source = path
    self.fileSize = size
  }

  func close() { try? handle.close() }

  func error(_ message: String, expected: String? = nil) -> InputError {
    InputError(
      .malformed,
      source: source,
      field: "byte \(offset)",
      message: message,
      expected: expected,
      fix: "The file is truncated or not what its name says; download it again"
    )
  }

  /// Bytes left after the current offset.
  var remaining: UInt64 { fileSize - offset }

  /// Reads exactly `count` bytes.
  mutating func read(_ count: Int) throws -> [UInt8] {
    guard count >= 0, UInt64(count) <= remaining else {
      throw error("needs \(count) more bytes but the file ends after \(remaining)")
    }
    var result: [UInt8] = []
    result.reserveCapacity(count)
    while result.count < count {
      if bufferStart >= buffer.count {
        let chunk = try handle.read(upToCount: max(1 << 16, min(count - result.count, 1 << 22))) ?? Data()
        guard !chunk.isEmpty else { throw error("unexpected end of file") }
        buffer = Array(chunk)
        bufferStart = 0
      }
      let take = min(count - result.count, buffer.count - bufferStart)
      result.append(contentsOf: buffer[bufferStart..<(bufferStart + take)])
      bufferStart += take
    }
    offset += UInt64(count)
    return result
  }

  /// Skips `count` bytes without keeping them.
  mutating func skip(_ count: UInt64) throws {
    guard count <= remaining else { throw error("needs \(count) more bytes but the file ends after \(remaining)") }
    var left = count
    while left > 0 {
      if bufferStart >= buffer.count {
        let chunk = try handle.read(upToCount: Int(min(left, 1 << 22))) ?? Data()
        guard !chunk.isEmpty else { throw error("unexpected end of file") }
        buffer = Array(chunk)
        bufferStart = 0
      }
      let take = min(Int(min(left, UInt64(Int.max))), buffer.count - bufferStart)
      bufferStart += take
      left -= UInt64(take)
    }
    offset += count
  }

  mutating func littleEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
    let bytes = try read(MemoryLayout<T>.size)
    // Assembled as a bit pattern: a negative signed value (an int8 of 0xFF) is
    // its two's complement, never a trap.
    var bits: UInt64 = 0
    for (index, byte) in bytes.enumerated() { bits |= UInt64(byte) << (8 * index) }
    return T(truncatingIfNeeded: bits)
  }
}

extension ByteSource {
  /// A whole small file (a manifest, a config), refused when larger than `limit`
  /// bytes rather than read into memory.
  /// The most bytes a config.json or safetensors index may hold (the largest real
  /// ones are well under 1 MiB).
  static let jsonLimit = 16 << 20

  static func readWhole(_ path: String, limit: Int) throws -> Data {
    var source = try ByteSource(path: path)
    defer { source.close() }
    guard source.fileSize <= UInt64(limit) else {
      throw InputError(
        .malformed,
        source: path,
        message: "the file is \(source.fileSize) bytes, more than the \(limit) such a file can sensibly be",
        expected: "at most \(limit) bytes",
        fix: "Check that this is the file meant"
      )
    }
    return Data(try source.read(Int(source.fileSize)))
  }
}
