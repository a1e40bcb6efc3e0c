import Foundation

/// A change of how a model's weights are stored: a float dtype (`--dtype`) or a
/// quantization (`--quant`), applied to a model read from config.json or
/// safetensors. GGUF models are already quantized and are not converted.
public enum WeightFormat: Hashable, Sendable {
  /// Every floating-point tensor in this dtype (fp32, fp16, bf16).
  case float(TensorDType)
  /// Linear weights in FP8 E4M3 with one F32 scale per 128×128 block (as
  /// DeepSeek-V3 ships); the rest in bf16.
  case fp8
  /// Linear weights as bitsandbytes LLM.int8 (int8 plus one F32 scale per row).
  case int8
  /// Linear weights as GPTQ int4 with groups of 128 (4.25 bits + zeros + g_idx).
  case int4
  /// Linear weights as bitsandbytes NF4 with double quantization (QLoRA's format).
  case nf4
  /// Linear weights as MXFP4: 4 bits per value, one E8M0 scale per 32 values.
  case mxfp4
  /// A llama.cpp quantization type (`q4_k_m`, `q8_0` …), with llama.cpp's
  /// per-tensor choice of ggml types.
  case gguf(GGUFQuantization)

  /// Parses `--quant` values.
  package init?(quant: String) {
    switch quant.lowercased() {
    case "fp8", "f8": self = .fp8
    case "int8", "bnb8", "llm.int8": self = .int8
    case "int4", "gptq", "awq", "w4a16": self = .int4
    case "nf4", "bnb4", "qlora": self = .nf4
    case "mxfp4": self = .mxfp4
    default:
      guard let type = GGUFQuantization(rawValue: quant.lowercased()) else { return nil }
      self = .gguf(type)
    }
  }

  /// Parses `--dtype` values.
  package init?(dtype: String) {
    switch dtype.lowercased() {
    case "fp32", "float32", "f32": self = .float(.f32)
    case "fp16", "float16", "f16", "half": self = .float(.f16)
    case "bf16", "bfloat16": self = .float(.bf16)
    case "fp8", "f8": self = .fp8
    default: return nil
    }
  }

  /// Every format shardplan can convert to, for parsing labels back.
  package static let all: [WeightFormat] =
    [.float(.f32), .float(.f16), .float(.bf16), .fp8, .int8, .int4, .nf4, .mxfp4]
    + GGUFQuantization.allCases.map { .gguf($0) }

  /// The name a layout file's `weights:` gives the format (`bf16`, `fp8`, `q4_k_m` …).
  package var key: String {
    switch self {
    case .float(let dtype):
      switch dtype {
      case .f32: "fp32"
      case .f16: "fp16"
      default: dtype.rawValue.lowercased()
      }
    case .fp8: "fp8"
    case .int8: "int8"
    case .int4: "int4"
    case .nf4: "nf4"
    case .mxfp4: "mxfp4"
    case .gguf(let type): type.rawValue
    }
  }

  /// A short label for reports.
  public var label: String {
    switch self {
    case .float(let dtype): dtype.rawValue.lowercased()
    case .fp8: "fp8 (block 128×128)"
    case .int8: "int8 (bitsandbytes)"
    case .int4: "int4 (GPTQ g128)"
    case .nf4: "nf4 (bitsandbytes, double quant)"
    case .mxfp4: "mxfp4"
    case .gguf(let type): type.rawValue.uppercased()
    }
  }
}

/// The weights as a plan serves or trains them: as the checkpoint stores them, or
/// in a format shardplan converted them to. A checkpoint stored wholly in one
/// float dtype is that dtype (`bf16`), so that its engine flags say so.
///
/// Encoded in JSON as its label (`"bf16"`, `"fp8 (as stored)"`, `"Q4_K_M"`).
public enum PlannedWeights: Hashable, Sendable, Codable, CustomStringConvertible {
  /// As stored; the text describes the storage (`fp8 (as stored)`, `mixed (F32, Q4_K)`).
  case stored(String)
  /// Converted to (or stored wholly in) this format.
  case converted(WeightFormat)

  /// The weights of `model` as loaded: its single float dtype, or as stored.
  public static func asStored(_ model: ModelSpec) -> PlannedWeights {
    if let quantization = model.quantization { return .stored("\(quantization) (as stored)") }
    let types = Set(model.tensors.map(\.storage))
    if types.count == 1, case .dense(let dtype) = types.first, let format = WeightFormat(dtype: dtype.rawValue),
      case .float = format
    {
      return .converted(format)
    }
    let names = Set(model.tensors.map(\.storage.description))
    return .stored(
      names.count == 1 ? names.first?.lowercased() ?? "as stored" : "mixed (\(names.sorted().joined(separator: ", ")))"
    )
  }

  /// A short label for reports.
  package var label: String {
    switch self {
    case .stored(let text): text
    case .converted(let format): format.label
    }
  }

  /// The text reports print.
  public var description: String { label }

  /// The format, when the weights were converted to one.
  package var format: WeightFormat? {
    if case .converted(let format) = self { return format }
    return nil
  }

  /// The `weights:` value of a layout file: the format's key, or `as-stored`.
  package var layoutKey: String { format?.key ?? "as-stored" }

  /// Reads a label back (JSON); a label of no known format is `stored`.
  package init(label: String) {
    if let format = WeightFormat.all.first(where: { $0.label == label }) {
      self = .converted(format)
    } else {
      self = .stored(label)
    }
  }

  /// Decodes the value from its JSON form.
  public init(from decoder: any Decoder) throws {
    self.init(label: try decoder.singleValueContainer().decode(String.self))
  }

  /// Encodes the value in its JSON form.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(label)
  }
}

/// llama.cpp's quantization presets (`llama-quantize` file types).
public enum GGUFQuantization: String, Hashable, Sendable, CaseIterable {
  case f16, bf16, q8_0, q6_k, q5_k_m, q5_k_s, q5_0, q5_1, q4_k_m, q4_k_s, q4_0, q4_1, q3_k_m, q3_k_l, q3_k_s, iq4_xs
  case iq4_nl

  /// The type most tensors get.
  var base: GGMLType {
    switch self {
    case .f16: .f16
    case .bf16: .bf16
    case .q8_0: .q8_0
    case .q6_k: .q6_k
    case .q5_k_m, .q5_k_s: .q5_k
    case .q5_0: .q5_0
    case .q5_1: .q5_1
    case .q4_k_m, .q4_k_s: .q4_k
    case .q4_0: .q4_0
    case .q4_1: .q4_1
    case .q3_k_m, .q3_k_l, .q3_k_s: .q3_k
    case .iq4_xs: .iq4_xs
    case .iq4_nl: .iq4_nl
    }
  }

  /// llama.cpp's `use_more_bits`: the first and last eighth of the layers and
  /// every third layer in between get a larger type in the `_M` presets.
  static func useMoreBits(_ layer: Int, _ layers: Int) -> Bool {
    layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
  }

  /// The ggml type llama.cpp's `llama_tensor_get_type` (src/llama-quant.cpp) gives a
  /// tensor, for the common cases: the output head is Q6_K (unless the preset is
  /// Q8_0 or 16-bit); in `_M`/`_L` presets the V projection and the FFN down
  /// projection of `use_more_bits` layers get Q6_K (Q5_K/Q4_K for Q3_K presets),
  /// and a fused QKV gets Q5_K in Q4_K_M, Q6_K in Q5_K_M and Q4_K in Q3_K_M/L;
  /// everything else gets the base type. The rarer bumps (models with 8 experts,
  /// Falcon, IQ2/IQ3 presets) are not modelled.
  func type(forTensor name: String, role: TensorRole, layer: Int?, layers: Int) -> GGMLType {
    if self == .f16 || self == .bf16 || self == .q8_0 { return base }
    if role == .head { return .q6_k }
    guard let layer else { return base }
    // By the tensor's module (`….v_proj.weight`: `v_proj`) and the one holding it
    // (`attn.c_attn`, `mlp.c_proj`): two components, not a substring search,
    // which Foundation runs slowly on Linux over DeepSeek-V3's 90,000 tensors.
    let parts = name.lowercased().split(separator: ".").suffix(3)
    let module = parts.count >= 2 ? parts[parts.endIndex - 2] : parts.last ?? ""
    let parent: Substring = parts.count >= 3 ? parts[parts.startIndex] : ""
    // Fused Q, K and V (llama.cpp's `attn_qkv`: Phi-3's qkv_proj, GPT-NeoX's
    // query_key_value, GPT-2's c_attn) have their own rule.
    let isQKV =
      ["attn_qkv", "qkv_proj", "query_key_value"].contains(module) || (module == "c_attn" && parent == "attn")
    let isValue = !isQKV && (module == "v_proj" || module == "attn_v")
    let isDown =
      ["down_proj", "w2", "dense_4h_to_h"].contains(module) || module.hasPrefix("ffn_down")
      || (module == "c_proj" && parent == "mlp")
    let isOutput =
      module == "o_proj" || module == "attn_output" || (module == "c_proj" && parent == "attn")
      || (module == "dense" && (parent == "attention" || parent == "self_attention"))
    if isQKV {
      switch self {
      case .q3_k_m, .q3_k_l: return .q4_k
      case .q4_k_m: return .q5_k
      case .q5_k_m: return .q6_k
      default: return base
      }
    }
    switch self {
    case .q4_k_m, .q5_k_m:
      if (isValue || isDown) && Self.useMoreBits(layer, layers) { return .q6_k }
    case .q4_k_s:
      if isValue && layer < 4 { return .q5_k }
      if isDown && layer < layers / 8 { return .q5_k }
    case .q3_k_m:
      if isValue { return layer < 2 ? .q5_k : .q4_k }
      if isDown { return layer < layers / 16 ? .q5_k : .q4_k }
      if isOutput { return .q4_k }
    case .q3_k_l:
      if isValue || isDown || isOutput { return .q5_k }
    default:
      break
    }
    return base
  }
}

extension ModelSpec {
  /// The same model with its weights stored in `format`.
  ///
  /// Which tensors change: floating-point tensors for `.float`; for the
  /// quantizations, the 2-D weights of attention, MLP and expert linears, with
  /// their quantization tensors, while embeddings, norms, biases, routers and the
  /// output head stay in bf16 (the modules quantizers leave out by default);
  /// llama.cpp presets quantize embeddings and the head too, as llama-quantize does.
  /// Models read from GGUF files, or whose checkpoint is already quantized, are
  /// returned unchanged with a note.
  public func converted(to format: WeightFormat) -> ModelSpec {
    var copy = self
    if tensorSource.isGGUF {
      copy.notes.append("\(format.label) not applied: a GGUF file's tensors are already quantized")
      return copy
    }
    // A quantized checkpoint converts from the unquantized model its config.json
    // describes (what the weights are before quantization), not from its packed
    // tensors: DeepSeek-V3's fp8 in bf16 is 684.5 B × 2 bytes, in int4 GPTQ's layout.
    if let quantization, !quantization.isEmpty, let config = quantizedConfig,
      var base = try? HFConfigReader.read(Data(config.utf8), name: name, source: name, dropQuantization: true)
    {
      base.notes =
        notes + [
          "\(format.label) computed from the unquantized model (\(quantization) checkpoint dequantized: its config.json without quantization_config)"
        ]
      base.contextLimitSource = contextLimitSource
      base.maxContext = maxContext
      if let kv = attention.kvBytesPerTokenPerLayer { base.attention.kvBytesPerTokenPerLayer = kv }
      return base.converted(to: format)
    }
    if let quantization, !quantization.isEmpty, case .float = format {
      copy.notes.append("\(format.label) not applied to the \(quantization) checkpoint's quantized tensors")
    }
    copy.quantization = format.label
    // Already in the dtype: every float tensor stays as it is (a fast path for
    // MoE checkpoints of tens of thousands of tensors).
    if case .float(let target) = format,
      tensors.allSatisfy({ tensor in
        guard case .dense(let dtype) = tensor.storage, dtype.isFloatingPoint else { return true }
        return dtype == target && tensor.bytes == tensor.elements * Int64(target.bytesPerElement)
      })
    {
      return copy
    }
    copy.tensors = tensors.flatMap { convert($0, to: format) }
    return copy
  }

  /// The model with its quantized weights dequantized to bf16, as an engine that
  /// cannot run them loads them (transformers' fp8 below compute capability 8.9):
  /// from the unquantized config when the checkpoint keeps one, else every tensor
  /// that holds parameters in bf16 (2 bytes each; float tensors keep their dtype)
  /// and the scales, zero points and indices dropped.
  package func dequantizedToBF16() -> ModelSpec {
    if quantizedConfig != nil { return converted(to: .float(.bf16)) }
    var copy = self
    copy.quantization = nil
    copy.tensors = tensors.compactMap { tensor in
      guard tensor.parameters > 0 else { return nil }
      if case .dense(let dtype) = tensor.storage, dtype.isFloatingPoint { return tensor }
      var dense = tensor
      dense.storage = .dense(.bf16)
      dense.bytes = tensor.parameters * 2
      return dense
    }
    copy.notes.append("\(quantization ?? "quantized") weights dequantized to bf16 (2 bytes per parameter)")
    return copy
  }

  private func isQuantizableLinear(_ tensor: TensorSpec) -> Bool {
    guard tensor.shape.count == 2, tensor.name.hasSuffix(".weight"), case .dense(let dtype) = tensor.storage,
      dtype.isFloatingPoint
    else { return false }
    return [.attention, .mlp, .expert, .sharedExpert].contains(tensor.role) && tensor.layer != nil
  }

  private func convert(_ tensor: TensorSpec, to format: WeightFormat) -> [TensorSpec] {
    guard case .dense(let dtype) = tensor.storage, dtype.isFloatingPoint else { return [tensor] }
    func retyped(_ newType: TensorDType) -> TensorSpec {
      var copy = tensor
      copy.storage = .dense(newType)
      copy.bytes = tensor.elements * Int64(newType.bytesPerElement)
      return copy
    }
    let prefix = String(tensor.name.dropLast(".weight".count))
    let out = tensor.shape.first ?? 1
    let input = tensor.shape.last ?? 1
    let linear = isQuantizableLinear(tensor)
    switch format {
    case .float(let target):
      return [retyped(target)]
    case .fp8, .int8, .int4, .nf4:
      guard linear else { return [retyped(dtype == .f32 ? .f32 : .bf16)] }
      let storage: LinearStorage =
        switch format {
        case .fp8: .fp8Block(rows: 128, columns: 128)
        case .int8: .bitsandbytes8
        case .int4: .gptq(bits: 4, groupSize: 128)
        default: .bitsandbytes4(doubleQuantization: true)
        }
      return storage.tensors(
        prefix: prefix,
        out: out,
        input: input,
        layer: tensor.layer,
        role: tensor.role,
        expert: tensor.expert
      )
    case .mxfp4:
      guard linear else { return [retyped(.bf16)] }
      let values = tensor.elements
      let blocks = (values + 31) / 32
      return [
        TensorSpec(
          name: prefix + ".weight_blocks",
          shape: [out, (input + 31) / 32, 16],
          storage: .dense(.u8),
          bytes: blocks * 16,
          layer: tensor.layer,
          role: tensor.role,
          parameters: values,
          expert: tensor.expert
        ),
        TensorSpec(
          name: prefix + ".weight_scales",
          shape: [out, (input + 31) / 32],
          storage: .dense(.u8),
          bytes: blocks,
          layer: tensor.layer,
          role: tensor.role,
          parameters: 0,
          expert: tensor.expert
        ),
      ]
    case .gguf(let preset):
      // llama.cpp keeps 1-D tensors (norms, biases) in F32; 2-D weights get the preset's type.
      guard tensor.shape.count >= 2, tensor.role != .buffer else {
        var copy = retyped(.f32)
        copy.storage = .ggml(.f32)
        return [copy]
      }
      var type = preset.type(forTensor: tensor.name, role: tensor.role, layer: tensor.layer, layers: layers)
      if tensor.role == .router { type = .f32 }
      // Rows that are not whole blocks fall back as llama.cpp does (to Q8_0, else F16).
      if input % Int64(type.blockSize) != 0 { type = input % 32 == 0 ? .q8_0 : .f16 }
      var copy = tensor
      copy.storage = .ggml(type)
      copy.bytes = type.bytes(elements: tensor.elements) ?? tensor.elements * 2
      return [copy]
    }
  }
}
