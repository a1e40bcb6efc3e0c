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
    case i8(Int8), i64(Int64)
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
      case .i8(let v): u32(1); data.append(UInt8(bitPattern: v))
      case .i64(let v): u32(11); u64(UInt64(bitPattern: v))
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

  /// A 2-layer Llama-style GGUF (hidden 256, vocabulary 512, 4 heads, 1 KV head) in
  /// ggml type `type` with f32 norms; `overrides` replace or add metadata keys.
  @discardableResult
  public static func tinyLlamaGGUF(
    _ url: URL,
    type: UInt32 = 12,
    overrides: [(String, Meta)] = []
  ) throws -> (dataStart: Int, dataBytes: Int) {
    let hidden: UInt64 = 256
    let vocab: UInt64 = 512
    var tensors: [(name: String, type: UInt32, dimensions: [UInt64], bytes: UInt64)] = [
      ("token_embd.weight", type, [hidden, vocab], hidden * vocab / 256 * 144),
      ("output_norm.weight", 0, [hidden], hidden * 4),
      ("output.weight", 14, [hidden, vocab], hidden * vocab / 256 * 210),
    ]
    for layer in 0..<2 {
      for name in ["attn_q", "attn_output"] {
        tensors.append(("blk.\(layer).\(name).weight", type, [hidden, hidden], hidden * hidden / 256 * 144))
      }
      for name in ["attn_k", "attn_v"] {
        tensors.append(("blk.\(layer).\(name).weight", type, [hidden, 64], hidden * 64 / 256 * 144))
      }
      tensors.append(("blk.\(layer).attn_norm.weight", 0, [hidden], hidden * 4))
      tensors.append(("blk.\(layer).ffn_norm.weight", 0, [hidden], hidden * 4))
      for name in ["ffn_gate", "ffn_up"] {
        tensors.append(("blk.\(layer).\(name).weight", type, [hidden, 512], hidden * 512 / 256 * 144))
      }
      tensors.append(("blk.\(layer).ffn_down.weight", 14, [512, hidden], 512 * hidden / 256 * 210))
    }
    var metadata: [(String, Meta)] = [
      ("general.architecture", .string("llama")), ("general.name", .string("tiny-test")),
      ("llama.block_count", .u32(2)), ("llama.context_length", .u32(4096)), ("llama.embedding_length", .u32(256)),
      ("llama.feed_forward_length", .u32(512)), ("llama.attention.head_count", .u32(4)),
      ("llama.attention.head_count_kv", .u32(1)), ("general.file_type", .u32(15)),
      ("tokenizer.ggml.tokens", .strings((0..<512).map { "t\($0)" })),
    ]
    for (key, value) in overrides {
      if let index = metadata.firstIndex(where: { $0.0 == key }) {
        metadata[index].1 = value
      } else {
        metadata.append((key, value))
      }
    }
    return try writeGGUF(url, metadata: metadata, tensors: tensors)
  }
}

extension SyntheticFiles {
  /// A gzip member that inflates to at least `bytes` zero bytes from about
  /// `bytes / 160`: one deflate block of fixed Huffman codes, a literal 0 and then
  /// matches of length 258 at distance 1 (13 bits each). Its CRC is not the
  /// data's: a reader that inflates it all fails at the very end, after the harm.
  public static func gzipBomb(inflatingTo bytes: Int) -> Data {
    var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]
    var bitBuffer: UInt32 = 0
    var bitCount = 0
    func bits(_ value: UInt32, _ count: Int) {  // LSB first, as deflate packs fields
      bitBuffer |= value << UInt32(bitCount)
      bitCount += count
      while bitCount >= 8 {
        out.append(UInt8(bitBuffer & 0xff))
        bitBuffer >>= 8
        bitCount -= 8
      }
    }
    func code(_ value: UInt32, _ count: Int) {  // Huffman codes go most significant bit first
      var reversed: UInt32 = 0
      for index in 0..<count where value & (1 << UInt32(index)) != 0 { reversed |= 1 << UInt32(count - 1 - index) }
      bits(reversed, count)
    }
    bits(1, 1)  // BFINAL
    bits(1, 2)  // BTYPE 01: fixed Huffman codes
    code(0x30, 8)  // literal 0
    for _ in 0..<(bytes / 258 + 1) {
      code(0xC5, 8)  // length symbol 285: 258 bytes
      code(0, 5)  // distance symbol 0: 1 byte back
    }
    code(0, 7)  // end of block
    if bitCount > 0 { bits(0, 8 - bitCount) }
    out += [0, 0, 0, 0]  // CRC-32 (wrong on purpose)
    let size = UInt32(truncatingIfNeeded: 1 + (bytes / 258 + 1) * 258)
    withUnsafeBytes(of: size.littleEndian) { out += $0 }
    return Data(out)
  }
}
