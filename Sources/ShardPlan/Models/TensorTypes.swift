/// Element types of stored tensors, named as safetensors names them.
public enum TensorDType: String, Hashable, Sendable, Codable, CaseIterable {
  case f64 = "F64"
  case f32 = "F32"
  case f16 = "F16"
  case bf16 = "BF16"
  case f8e4m3 = "F8_E4M3"
  case f8e5m2 = "F8_E5M2"
  case f8e8m0 = "F8_E8M0"
  case i64 = "I64"
  case i32 = "I32"
  case i16 = "I16"
  case i8 = "I8"
  case u64 = "U64"
  case u32 = "U32"
  case u16 = "U16"
  case u8 = "U8"
  case bool = "BOOL"

  /// Bytes per element.
  package var bytesPerElement: Int {
    switch self {
    case .f64, .i64, .u64: 8
    case .f32, .i32, .u32: 4
    case .f16, .bf16, .i16, .u16: 2
    case .f8e4m3, .f8e5m2, .f8e8m0, .i8, .u8, .bool: 1
    }
  }

  /// True for floating-point types that a change of precision (`--dtype`) converts.
  package var isFloatingPoint: Bool { [.f64, .f32, .f16, .bf16].contains(self) }

  /// The dtype named by a Hugging Face `torch_dtype` (`bfloat16`, `float16`, `float32`).
  package init?(torchName: String) {
    switch torchName.lowercased() {
    case "float32", "fp32", "float": self = .f32
    case "float16", "fp16", "half": self = .f16
    case "bfloat16", "bf16": self = .bf16
    case "float64", "double": self = .f64
    case "float8_e4m3fn", "fp8", "f8_e4m3": self = .f8e4m3
    case "int8": self = .i8
    default: return nil
    }
  }
}

/// ggml tensor types (GGUF), with their block layout.
///
/// Source: ggml's type-traits table (`ggml.c`, `type_traits[]`: `blck_size`,
/// `type_size`), also listed in shared/reference/notes/memory-estimators.md.
/// Bytes of a row of n elements = n / blockSize × bytesPerBlock.
package enum GGMLType: UInt32, Hashable, Sendable, Codable, CaseIterable {
  case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
  case q2_k = 10, q3_k = 11, q4_k = 12, q5_k = 13, q6_k = 14, q8_k = 15
  case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
  case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
  case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39

  /// Elements per block.
  package var blockSize: Int {
    switch self {
    case .f32, .f16, .bf16, .i8, .i16, .i32, .i64, .f64: 1
    case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl, .mxfp4: 32
    default: 256
    }
  }

  /// Bytes per block.
  package var bytesPerBlock: Int {
    switch self {
    case .f32, .i32: 4
    case .f16, .bf16, .i16: 2
    case .i8: 1
    case .i64, .f64: 8
    case .q4_0: 18
    case .q4_1: 20
    case .q5_0: 22
    case .q5_1: 24
    case .q8_0: 34
    case .q8_1: 36
    case .q2_k: 84
    case .q3_k: 110
    case .q4_k: 144
    case .q5_k: 176
    case .q6_k: 210
    case .q8_k: 292
    case .iq2_xxs: 66
    case .iq2_xs: 74
    case .iq3_xxs: 98
    case .iq1_s: 50
    case .iq4_nl: 18
    case .iq3_s: 110
    case .iq2_s: 82
    case .iq4_xs: 136
    case .iq1_m: 56
    case .tq1_0: 54
    case .tq2_0: 66
    case .mxfp4: 17
    }
  }

  /// The name llama.cpp prints (`Q4_K`, `F16`).
  package var name: String { String(describing: self).uppercased() }

  /// Parses a name such as `q4_k`, `Q8_0` or `f16`.
  package init?(name: String) {
    guard let type = Self.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
    self = type
  }

  /// Bytes of `elements` values; nil when `elements` is not a whole number of blocks.
  package func bytes(elements: Int64) -> Int64? {
    let block = Int64(blockSize)
    guard elements >= 0, elements % block == 0 else { return nil }
    let (blocks, overflow) = (elements / block).multipliedReportingOverflow(by: Int64(bytesPerBlock))
    return overflow ? nil : blocks
  }
}
