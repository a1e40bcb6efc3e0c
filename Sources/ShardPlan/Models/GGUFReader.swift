import Foundation

/// Reads the header of a GGUF file (versions 2 and 3): metadata key/values and
/// tensor infos, never the tensor data, so a 40 GB file costs its header only.
///
/// Layout (ggml `docs/gguf.md`): magic `GGUF`, version u32, tensor count u64,
/// metadata count u64, the key/value pairs (string key, u32 type, value), then per
/// tensor: name, u32 dimension count, u64 dimensions, u32 ggml type, u64 offset
/// relative to the data section, which starts at the next multiple of
/// `general.alignment` (32 by default).
///
/// A header that lies — counts or lengths beyond the file, giant strings, more
/// than 4 dimensions, rows that are not whole blocks, tensors past the end of the
/// file or overlapping each other — is refused with the byte offset.
package enum GGUFReader {
  /// A metadata value.
  package indirect enum Value: Hashable, Sendable {
    case uint(UInt64)
    case int(Int64)
    case float(Double)
    case bool(Bool)
    case string(String)
    case array([Value])
    /// A long array (tokenizer vocabularies) kept as its element count only.
    case longArray(count: UInt64)

    package var intValue: Int? {
      switch self {
      case .uint(let value): value <= UInt64(Int.max) ? Int(value) : nil
      case .int(let value): Int(value)
      case .float(let value) where value.rounded() == value && abs(value) < 1e15: Int(value)
      default: nil
      }
    }

    package var stringValue: String? {
      if case .string(let value) = self { return value }
      return nil
    }

    /// Element count of arrays (long ones included).
    package var count: Int? {
      switch self {
      case .array(let values): values.count
      case .longArray(let count): Int(clamping: count)
      default: nil
      }
    }
  }

  /// A tensor's info.
  package struct Tensor: Hashable, Sendable {
    package var name: String
    /// ggml order: `dimensions[0]` is the row length (contiguous).
    package var dimensions: [Int64]
    package var type: GGMLType
    package var offset: UInt64
    package var bytes: Int64
  }

  /// A parsed header.
  package struct Header: Hashable, Sendable {
    package var version: UInt32
    package var metadata: [String: Value]
    package var tensors: [Tensor]
    /// Byte offset where tensor data begins.
    package var dataStart: UInt64
    /// Bytes from `dataStart` to the end of the file.
    package var dataBytes: UInt64
    package var alignment: UInt64
  }

  /// Longest string accepted (chat templates run to tens of KiB).
  static let maximumStringBytes: UInt64 = 16 << 20
  /// Arrays longer than this keep only their count (tokenizer tables).
  static let keptArrayElements: UInt64 = 1024
  /// Most tensors accepted.
  static let maximumTensors: UInt64 = 1 << 20
  /// Most metadata pairs accepted.
  static let maximumMetadata: UInt64 = 1 << 16
  /// Most elements of one metadata array (tokenizer tables hold about 262,144).
  static let maximumArrayElements: UInt64 = 1 << 24
  /// Most bytes the whole metadata section may take. Tokenizers take the most:
  /// Llama 3's 128,256 tokens and 280,147 merges about 8 MiB, Gemma 3's 262,144
  /// tokens with scores and types about 6 MiB; 64 MiB is several times either,
  /// and reading it takes seconds, not the 22 s of 335 MB of strings.
  static let maximumMetadataBytes: UInt64 = 64 << 20

  /// Reads a GGUF header.
  /// - Throws: ``InputError`` with the byte offset of the problem.
  package static func read(path: String) throws -> Header {
    var input = try ByteSource(path: path)
    defer { input.close() }
    let magic = try input.read(4)
    guard magic == Array("GGUF".utf8) else {
      throw input.error(
        "not a GGUF file (magic \(magic.map { String($0, radix: 16) }.joined(separator: " ")))",
        expected: "the bytes 'GGUF'"
      )
    }
    let version = try input.littleEndian(UInt32.self)
    guard version == 2 || version == 3 else {
      throw InputError(
        .unsupportedVersion,
        source: path,
        field: "version",
        message: "GGUF version \(version) is not supported",
        expected: "version 2 or 3",
        fix: version == 1 ? "Convert the file with a current llama.cpp" : nil
      )
    }
    let tensorCount = try input.littleEndian(UInt64.self)
    let metadataCount = try input.littleEndian(UInt64.self)
    // Each tensor info needs at least 4+8+4+8+4+8 = 36 bytes, each pair 8+4+1.
    guard tensorCount <= maximumTensors, tensorCount * 36 <= input.remaining else {
      throw input.error("tensor count \(tensorCount) does not fit in the file")
    }
    guard metadataCount <= maximumMetadata, metadataCount * 13 <= input.remaining else {
      throw input.error("metadata count \(metadataCount) does not fit in the file")
    }
    var metadata: [String: Value] = [:]
    let metadataStart = input.offset
    for _ in 0..<metadataCount {
      let key = try readString(&input)
      let type = try input.littleEndian(UInt32.self)
      metadata[key] = try readValue(&input, type: type, depth: 0, end: metadataStart + maximumMetadataBytes)
      guard input.offset - metadataStart <= maximumMetadataBytes else {
        throw input.error(
          "metadata runs past \(maximumMetadataBytes >> 20) MiB (at key \(key))",
          expected: "a metadata section of at most \(maximumMetadataBytes >> 20) MiB"
        )
      }
    }
    var alignment: UInt64 = 32
    if let value = metadata["general.alignment"] {
      guard let number = value.intValue, number > 0, number <= 1 << 20, number & (number - 1) == 0 else {
        throw input.error("general.alignment is not a power of two up to 1 MiB")
      }
      alignment = UInt64(number)
    }
    var tensors: [Tensor] = []
    tensors.reserveCapacity(Int(tensorCount))
    for _ in 0..<tensorCount {
      let name = try readString(&input)
      let dimensionCount = try input.littleEndian(UInt32.self)
      guard dimensionCount >= 1, dimensionCount <= 4 else {
        throw input.error("tensor \(name) has \(dimensionCount) dimensions", expected: "1 to 4")
      }
      var dimensions: [Int64] = []
      var elements: Int64 = 1
      for _ in 0..<dimensionCount {
        let size = try input.littleEndian(UInt64.self)
        guard size <= UInt64(Int64.max) else { throw input.error("tensor \(name) has a dimension beyond 2^63") }
        let (product, overflow) = elements.multipliedReportingOverflow(by: Int64(size))
        guard !overflow else { throw input.error("tensor \(name) has more elements than 2^63") }
        elements = product
        dimensions.append(Int64(size))
      }
      let rawType = try input.littleEndian(UInt32.self)
      guard let type = GGMLType(rawValue: rawType) else {
        throw input.error(
          "tensor \(name) has unknown ggml type \(rawType)",
          expected: "a type of ggml's type-traits table"
        )
      }
      guard dimensions[0] % Int64(type.blockSize) == 0, let bytes = type.bytes(elements: elements) else {
        throw input.error(
          "tensor \(name): rows of \(dimensions[0]) values are not whole \(type.name) blocks of \(type.blockSize)"
        )
      }
      let offset = try input.littleEndian(UInt64.self)
      guard offset % alignment == 0 else {
        throw input.error("tensor \(name) starts at \(offset), not a multiple of the alignment \(alignment)")
      }
      tensors.append(Tensor(name: name, dimensions: dimensions, type: type, offset: offset, bytes: bytes))
    }
    let afterInfos = input.offset
    let dataStart = (afterInfos + alignment - 1) / alignment * alignment
    guard dataStart <= input.fileSize else { throw input.error("tensor data would start after the end of the file") }
    let dataBytes = input.fileSize - dataStart
    let ordered = tensors.sorted { ($0.offset, $0.name) < ($1.offset, $1.name) }
    var end: UInt64 = 0
    for tensor in ordered {
      guard tensor.offset >= end || tensor.bytes == 0 else {
        throw InputError(
          .malformed,
          source: path,
          field: tensor.name,
          message: "tensor data overlaps the previous tensor's",
          fix: "The file is damaged; download it again"
        )
      }
      let (tensorEnd, overflow) = tensor.offset.addingReportingOverflow(UInt64(tensor.bytes))
      guard !overflow, tensorEnd <= dataBytes else {
        throw InputError(
          .malformed,
          source: path,
          field: tensor.name,
          message: "tensor data ends at \(tensorEnd) but the file holds \(dataBytes) bytes of data",
          fix: "The file is truncated (a partial download?); download it again"
        )
      }
      end = max(end, tensorEnd)
    }
    return Header(
      version: version,
      metadata: metadata,
      tensors: tensors,
      dataStart: dataStart,
      dataBytes: dataBytes,
      alignment: alignment
    )
  }

  static func readString(_ input: inout ByteSource) throws -> String {
    let length = try input.littleEndian(UInt64.self)
    guard length <= maximumStringBytes, length <= input.remaining else {
      throw input.error("string of \(length) bytes is longer than the file allows")
    }
    return String(decoding: try input.read(Int(length)), as: UTF8.self)
  }

  /// One metadata value; an array is walked only while the reader stays before
  /// `end`, the offset past which the metadata section is too long.
  static func readValue(_ input: inout ByteSource, type: UInt32, depth: Int, end: UInt64 = .max) throws -> Value {
    switch type {
    case 0: return .uint(UInt64(try input.littleEndian(UInt8.self)))
    case 1: return .int(Int64(try input.littleEndian(Int8.self)))
    case 2: return .uint(UInt64(try input.littleEndian(UInt16.self)))
    case 3: return .int(Int64(try input.littleEndian(Int16.self)))
    case 4: return .uint(UInt64(try input.littleEndian(UInt32.self)))
    case 5: return .int(Int64(try input.littleEndian(Int32.self)))
    case 6: return .float(Double(Float(bitPattern: try input.littleEndian(UInt32.self))))
    case 7:
      let byte = try input.littleEndian(UInt8.self)
      guard byte <= 1 else { throw input.error("boolean value \(byte)", expected: "0 or 1") }
      return .bool(byte == 1)
    case 8: return .string(try readString(&input))
    case 9:
      guard depth < 2 else { throw input.error("arrays nested deeper than 2 levels") }
      let elementType = try input.littleEndian(UInt32.self)
      let count = try input.littleEndian(UInt64.self)
      let minimumSize: UInt64 =
        [0, 1, 7].contains(elementType)
        ? 1 : ([2, 3].contains(elementType) ? 2 : ([10, 11, 12].contains(elementType) ? 8 : 4))
      guard count <= input.remaining / minimumSize else {
        throw input.error("array of \(count) elements is longer than the file")
      }
      guard count <= maximumArrayElements, count * minimumSize <= end - min(end, input.offset) else {
        throw input.error(
          "array of \(count) elements",
          expected:
            "at most \(maximumArrayElements) elements, in a metadata section of at most \(maximumMetadataBytes >> 20) MiB"
        )
      }
      if count > keptArrayElements {
        // Walk the elements without keeping them (tokenizer tables), stopping
        // where the metadata section would be too long.
        for element in 0..<count {
          _ = try skipValue(&input, type: elementType, depth: depth + 1, end: end)
          if element & 0xFFFF == 0xFFFF, input.offset > end {
            throw input.error(
              "metadata runs past \(maximumMetadataBytes >> 20) MiB (in an array of \(count) elements)",
              expected: "a metadata section of at most \(maximumMetadataBytes >> 20) MiB"
            )
          }
        }
        return .longArray(count: count)
      }
      var values: [Value] = []
      for _ in 0..<count { values.append(try readValue(&input, type: elementType, depth: depth + 1, end: end)) }
      return .array(values)
    case 10: return .uint(try input.littleEndian(UInt64.self))
    case 11: return .int(try input.littleEndian(Int64.self))
    case 12: return .float(Double(bitPattern: try input.littleEndian(UInt64.self)))
    default: throw input.error("unknown metadata value type \(type)", expected: "0 to 12")
    }
  }

  static func skipValue(_ input: inout ByteSource, type: UInt32, depth: Int, end: UInt64 = .max) throws -> Bool {
    switch type {
    case 0, 1, 7: try input.skip(1)
    case 2, 3: try input.skip(2)
    case 4, 5, 6: try input.skip(4)
    case 10, 11, 12: try input.skip(8)
    case 8:
      let length = try input.littleEndian(UInt64.self)
      guard length <= maximumStringBytes else { throw input.error("string of \(length) bytes") }
      try input.skip(length)
    case 9: _ = try readValue(&input, type: 9, depth: depth, end: end)
    default: throw input.error("unknown metadata value type \(type)", expected: "0 to 12")
    }
    return true
  }
}
