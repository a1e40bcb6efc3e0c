import Foundation

/// Writers of real safetensors and GGUF files for tests, so readers are checked
/// against files whose every byte is known.
public enum SyntheticFiles {
  /// A temporary folder unique to this process and `label`.
  public static func folder(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("shardplan-\(label)-\(getpid())")
    try? FileManager.default.removeItem(at: url)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// Writes a safetensors file: header + zero-filled data, tensors laid out in order.
  /// - Returns: the total bytes of tensor data.
  @discardableResult
  public static func writeSafetensors(
    _ url: URL,
    tensors: [(name: String, dtype: String, shape: [Int])],
    bytesPerElement: [String: Int] = [
      "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "U8": 1, "I32": 4, "I8": 1, "I64": 8,
    ]
  ) throws -> Int {
    var offset = 0
    var entries: [String] = []
    for tensor in tensors {
      let bytes = tensor.shape.reduce(1, *) * (bytesPerElement[tensor.dtype] ?? 1)
      entries.append(
        "\"\(tensor.name)\":{\"dtype\":\"\(tensor.dtype)\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
      )
      offset += bytes
    }
    var header = Array(("{\"__metadata__\":{\"format\":\"pt\"}," + entries.joined(separator: ",") + "}").utf8)
    while header.count % 8 != 0 { header.append(0x20) }
    var data = Data()
    var length = UInt64(header.count).littleEndian
    withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
    data.append(contentsOf: header)
    data.append(Data(count: offset))
    try data.write(to: url)
    return offset
  }

  /// A GGUF metadata value to write.
  public enum Meta {
    case u32(UInt32), i32(Int32), f32(Float), string(String), strings([String]), bool(Bool), u64(UInt64)
    case u32s([UInt32])
  }

  /// Writes a GGUF v3 file with the given metadata and tensors (ggml type ids,
  /// dimensions in ggml order, bytes per tensor), data zero-filled and aligned to 32.
  /// - Returns: (data section start, data section bytes).
  @discardableResult
  public static func writeGGUF(
    _ url: URL,
    metadata: [(String, Meta)],
    tensors: [(name: String, type: UInt32, dimensions: [UInt64], bytes: UInt64)],
    version: UInt32 = 3
  ) throws -> (dataStart: Int, dataBytes: Int) {
    var data = Data()
    func u32(_ value: UInt32) { var v = value.littleEndian; withUnsafeBytes(of: &v) { data.append(contentsOf: $0) } }
    func u64(_ value: UInt64) { var v = value.littleEndian; withUnsafeBytes(of: &v) { data.append(contentsOf: $0) } }
    func string(_ text: String) {
      u64(UInt64(text.utf8.count))
      data.append(contentsOf: Array(text.utf8))
    }
    data.append(contentsOf: Array("GGUF".utf8))
    u32(version)
    u64(UInt64(tensors.count))
    u64(UInt64(metadata.count))
    for (key, value) in metadata {
      string(key)
      switch value {
      case .u32(let v): u32(4); u32(v)
      case .i32(let v): u32(5); u32(UInt32(bitPattern: v))
      case .f32(let v): u32(6); u32(v.bitPattern)
      case .bool(let v): u32(7); data.append(v ? 1 : 0)
      case .string(let v): u32(8); string(v)
      case .u64(let v): u32(10); u64(v)
      case .u32s(let values):
        u32(9); u32(4); u64(UInt64(values.count))
        for v in values { u32(v) }
      case .strings(let values):
        u32(9); u32(8); u64(UInt64(values.count))
        for v in values { string(v) }
      }
    }
    var offset: UInt64 = 0
    for tensor in tensors {
      string(tensor.name)
      u32(UInt32(tensor.dimensions.count))
      for dimension in tensor.dimensions { u64(dimension) }
      u32(tensor.type)
      u64(offset)
      offset += (tensor.bytes + 31) / 32 * 32
    }
    while data.count % 32 != 0 { data.append(0) }
    let start = data.count
    data.append(Data(count: Int(offset)))
    try data.write(to: url)
    return (start, Int(offset))
  }
}
