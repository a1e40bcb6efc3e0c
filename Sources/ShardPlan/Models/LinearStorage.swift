/// How the linear (matrix) weights of a checkpoint are stored, which decides
/// the tensors a linear layer of `out × in` becomes and their exact bytes.
///
/// Layouts follow the loaders that read them:
/// - `fp8Block`: DeepSeek-V3 style, `weight` F8_E4M3 `[out, in]` plus
///   `weight_scale_inv` F32 `[⌈out/b0⌉, ⌈in/b1⌉]` (transformers `FP8Linear`).
/// - `gptq`: `qweight` I32 `[in·bits/32, out]`, `qzeros` I32 `[in/g, out·bits/32]`,
///   `scales` F16 `[in/g, out]`, `g_idx` I32 `[in]` (AutoGPTQ / GPTQModel).
/// - `awq`: `qweight` I32 `[in, out·bits/32]`, `qzeros` I32 `[in/g, out·bits/32]`,
///   `scales` F16 `[in/g, out]` (AutoAWQ GEMM).
/// - `bitsandbytes4`: `weight` U8 `[out·in/2, 1]`, `weight.absmax` per block of 64
///   (U8 with double quantization, else F32), `weight.quant_map` F32 `[16]`, and with
///   double quantization `weight.nested_absmax` F32 `[⌈blocks/256⌉]` and
///   `weight.nested_quant_map` F32 `[256]` (bitsandbytes `Params4bit`). The small
///   `quant_state` JSON tensor is not counted (a few hundred bytes per layer).
/// - `bitsandbytes8`: `weight` I8 `[out, in]` plus `SCB` F32 `[out]` (LLM.int8).
/// - `compressedTensorsW4A16`: `weight_packed` I32 `[out, in/8]`, `weight_scale`
///   BF16 `[out, in/g]`, `weight_shape` I64 `[2]` (llm-compressor pack-quantized).
/// - `compressedTensorsFP8`: `weight` F8_E4M3 `[out, in]`, `weight_scale` F32 `[out, 1]`.
package enum LinearStorage: Hashable, Sendable, Codable {
  case unquantized(TensorDType)
  case fp8Block(rows: Int64, columns: Int64)
  case gptq(bits: Int64, groupSize: Int64)
  case awq(bits: Int64, groupSize: Int64)
  case bitsandbytes4(doubleQuantization: Bool)
  case bitsandbytes8
  case compressedTensorsW4A16(groupSize: Int64)
  case compressedTensorsFP8

  /// A short name for reports (`fp8 block 128×128`, `gptq int4 g128`).
  package var label: String {
    switch self {
    case .unquantized(let dtype): dtype.rawValue.lowercased()
    case .fp8Block(let rows, let columns): "fp8 block \(rows)×\(columns)"
    case .gptq(let bits, let group): "gptq int\(bits) g\(group)"
    case .awq(let bits, let group): "awq int\(bits) g\(group)"
    case .bitsandbytes4(let double): "bnb nf4\(double ? " double-quant" : "")"
    case .bitsandbytes8: "bnb int8"
    case .compressedTensorsW4A16(let group): "compressed-tensors w4a16 g\(group)"
    case .compressedTensorsFP8: "compressed-tensors fp8"
    }
  }

  /// The tensors of one linear layer named `prefix` (without `.weight`).
  ///
  /// - Parameters:
  ///   - out: output features (rows of the PyTorch weight).
  ///   - input: input features.
  func tensors(prefix: String, out: Int64, input: Int64, layer: Int?, role: TensorRole, expert: Int?) -> [TensorSpec] {
    func make(_ suffix: String, _ shape: [Int64], _ dtype: TensorDType, parameters: Int64? = nil) -> TensorSpec {
      let elements = shape.reduce(1, *)
      return TensorSpec(
        name: "\(prefix).\(suffix)",
        shape: shape,
        storage: .dense(dtype),
        bytes: elements * Int64(dtype.bytesPerElement),
        layer: layer,
        role: role,
        parameters: parameters,
        expert: expert
      )
    }
    let logical = out * input
    func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 { (a + b - 1) / b }
    switch self {
    case .unquantized(let dtype):
      return [make("weight", [out, input], dtype)]
    case .fp8Block(let rows, let columns):
      return [
        make("weight", [out, input], .f8e4m3),
        make("weight_scale_inv", [ceilDiv(out, rows), ceilDiv(input, columns)], .f32, parameters: 0),
      ]
    case .gptq(let bits, let group):
      let groups = ceilDiv(input, group)
      return [
        make("qweight", [input * bits / 32, out], .i32, parameters: logical),
        make("qzeros", [groups, out * bits / 32], .i32, parameters: 0),
        make("scales", [groups, out], .f16, parameters: 0),
        make("g_idx", [input], .i32, parameters: 0),
      ]
    case .awq(let bits, let group):
      let groups = ceilDiv(input, group)
      return [
        make("qweight", [input, out * bits / 32], .i32, parameters: logical),
        make("qzeros", [groups, out * bits / 32], .i32, parameters: 0),
        make("scales", [groups, out], .f16, parameters: 0),
      ]
    case .bitsandbytes4(let double):
      let blocks = ceilDiv(logical, 64)
      var list = [
        make("weight", [ceilDiv(logical, 2), 1], .u8, parameters: logical),
        make("weight.absmax", [blocks], double ? .u8 : .f32, parameters: 0),
        make("weight.quant_map", [16], .f32, parameters: 0),
      ]
      if double {
        list.append(make("weight.nested_absmax", [ceilDiv(blocks, 256)], .f32, parameters: 0))
        list.append(make("weight.nested_quant_map", [256], .f32, parameters: 0))
      }
      return list
    case .bitsandbytes8:
      return [make("weight", [out, input], .i8), make("SCB", [out], .f32, parameters: 0)]
    case .compressedTensorsW4A16(let group):
      return [
        make("weight_packed", [out, ceilDiv(input, 8)], .i32, parameters: logical),
        make("weight_scale", [out, ceilDiv(input, group)], .bf16, parameters: 0),
        make("weight_shape", [2], .i64, parameters: 0),
      ]
    case .compressedTensorsFP8:
      return [make("weight", [out, input], .f8e4m3), make("weight_scale", [out, 1], .f32, parameters: 0)]
    }
  }
}
