import Foundation

/// Reads safetensors headers: an 8-byte little-endian header length, then a
/// JSON object of `name: {dtype, shape, data_offsets}` and an optional
/// `__metadata__`. Only the header is read, never the tensor data.
///
/// Every entry is checked against the file: a known dtype, non-negative shape,
/// `data_offsets` whose length equals elements × dtype size, inside the data
/// section, and not overlapping another tensor. The header length is capped at
/// 100 MB, the limit the safetensors format itself sets.
package enum SafetensorsReader {
  /// The format's own cap on the header length.
  package static let maximumHeaderBytes: UInt64 = 100_000_000

  /// One tensor entry of a header.
  package struct Entry: Hashable, Sendable {
    package var name: String
    package var dtype: TensorDType
    package var shape: [Int64]
    package var bytes: Int64
    package var dataOffset: Int64
  }

  /// Reads the header of one `.safetensors` file.
  /// - Throws: ``InputError`` naming the file, the tensor and what is wrong.
  package static func readHeader(path: String) throws -> [Entry] {
    var input = try ByteSource(path: path)
    defer { input.close() }
    guard input.fileSize >= 8 else { throw input.error("shorter than the 8-byte header length") }
    let length = try input.littleEndian(UInt64.self)
    guard length >= 2, length <= maximumHeaderBytes else {
      throw input.error(
        "header length \(length) is outside 2…\(maximumHeaderBytes) bytes",
        expected: "a safetensors file"
      )
    }
    guard length <= input.remaining else {
      throw input.error("header claims \(length) bytes but the file has \(input.remaining) after the length")
    }
    // One copy of the header at a time (the bytes read are freed once copied).
    let header = Data(try input.read(Int(length)))
    let dataBytes = Int64(input.remaining)
    return try parseHeader(header, dataBytes: dataBytes, source: path)
  }

  /// Parses a header's JSON given the size of the data section that follows it.
  package static func parseHeader(_ header: Data, dataBytes: Int64, source: String) throws -> [Entry] {
    // A tensor's entry is at most about 9 values (its object, dtype, a shape of up
    // to 4 dimensions, and two offsets).
    let json = try JSONValue.parse(header, source: source, maximumValues: maximumTensors * 9 + 4096)
    guard let object = json.objectValue else {
      throw InputError(.malformed, source: source, message: "safetensors header is not a JSON object")
    }
    guard object.count <= maximumTensors else {
      throw InputError(
        .malformed,
        source: source,
        message: "safetensors header lists \(object.count) tensors",
        expected: "at most \(maximumTensors) tensors in one file",
        fix: "The header is damaged or hostile; download the file again"
      )
    }
    var entries: [Entry] = []
    for (name, value) in object where name != "__metadata__" {
      func bad(_ message: String, expected: String? = nil) -> InputError {
        InputError(
          .malformed,
          source: source,
          field: name,
          message: message,
          expected: expected,
          fix: "The header is damaged; download the file again"
        )
      }
      guard let dtypeName = value["dtype"]?.stringValue else { throw bad("tensor has no dtype") }
      guard let dtype = TensorDType(rawValue: dtypeName) else {
        throw bad(
          "unknown dtype '\(dtypeName)'",
          expected: TensorDType.allCases.map(\.rawValue).joined(separator: ", ")
        )
      }
      guard let dims = value["shape"]?.arrayValue else { throw bad("tensor has no shape") }
      var shape: [Int64] = []
      var elements: Int64 = 1
      for dim in dims {
        guard let size = dim.intValue, size >= 0 else { throw bad("shape has a negative or non-integer dimension") }
        let (product, overflow) = elements.multipliedReportingOverflow(by: size)
        guard !overflow else { throw bad("shape overflows 64-bit element counts") }
        elements = product
        shape.append(size)
      }
      guard let offsets = value["data_offsets"]?.arrayValue?.compactMap(\.intValue), offsets.count == 2 else {
        throw bad("data_offsets is not a pair of integers")
      }
      let (start, end) = (offsets[0], offsets[1])
      let (bytes, overflow) = elements.multipliedReportingOverflow(by: Int64(dtype.bytesPerElement))
      guard !overflow else { throw bad("tensor size overflows") }
      guard start >= 0, end >= start, end - start == bytes else {
        throw bad(
          "data_offsets [\(start), \(end)] hold \(end - start) bytes but \(shape) × \(dtype.rawValue) needs \(bytes)"
        )
      }
      guard end <= dataBytes else {
        throw bad("data_offsets end at \(end) but the data section has \(dataBytes) bytes", expected: "a complete file")
      }
      entries.append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes, dataOffset: start))
    }
    // No two tensors may share bytes.
    let ordered = entries.sorted { ($0.dataOffset, $0.name) < ($1.dataOffset, $1.name) }
    for (previous, next) in zip(ordered, ordered.dropFirst()) where previous.bytes > 0 {
      if next.dataOffset < previous.dataOffset + previous.bytes {
        throw InputError(
          .malformed,
          source: source,
          field: next.name,
          message: "overlaps \(previous.name) (bytes \(previous.dataOffset)…\(previous.dataOffset + previous.bytes))",
          fix: "The header is damaged; download the file again"
        )
      }
    }
    return ordered
  }

  /// Reads `model.safetensors.index.json`: the weight map's shard files and the
  /// declared `metadata.total_size`.
  package static func readIndex(path: String) throws -> (shards: [String], totalSize: Int64?) {
    let data = try ByteSource.readWhole(path, limit: ByteSource.jsonLimit)
    let json = try JSONValue.parse(data, source: path)
    guard let map = json["weight_map"]?.objectValue else {
      throw InputError(.malformed, source: path, field: "weight_map", message: "index has no weight_map")
    }
    let shards = Set(map.values.compactMap(\.stringValue)).sorted()
    for shard in shards {
      if let problem = shardNameProblem(shard) {
        throw InputError(
          .malformed,
          source: path,
          field: "weight_map",
          message: problem,
          expected: "plain file names such as model-00001-of-00004.safetensors"
        )
      }
    }
    return (shards, json["metadata"]?["total_size"]?.intValue)
  }

  /// Refuses a checkpoint whose headers hold no weight bytes at all (only empty
  /// tensors): it is not a model, and planning from it would print 0 B.
  package static func checkHoldsWeights(_ entries: [Entry], source: String) throws {
    guard entries.contains(where: { $0.bytes > 0 }) else {
      throw InputError(
        .malformed,
        source: source,
        message: "the safetensors headers list \(entries.count) tensor(s) and no weight bytes",
        expected: "the model's weights",
        fix: "Download the checkpoint again, or point at its config.json alone"
      )
    }
  }

  /// Tensors one header may list: DeepSeek-V3's whole checkpoint has about 91,000.
  package static let maximumTensors = 262_144

  /// Why an index's shard name cannot be read as a file of the model's folder (or
  /// a path of its Hub repository), or nil: the same rule for both readers.
  package static func shardNameProblem(_ shard: String) -> String? {
    let unsafe = shard.unicodeScalars.contains { $0.value < 0x20 || "/\\?#%".unicodeScalars.contains($0) }
    if shard.isEmpty || shard.hasPrefix(".") || unsafe || shard.count > 255 {
      return
        "shard name '\(shard.debugDescription.dropFirst().dropLast())' is not a plain file name of the model folder"
    }
    if !shard.hasSuffix(".safetensors") { return "shard name '\(shard)' is not a .safetensors file" }
    return nil
  }
}
