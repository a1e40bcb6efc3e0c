/// One part a GPU's memory is stacked from in the bars of the table, the HTML
/// report and the terminal: its name, the letter of the text bar, the colour of
/// both, and its bytes in a budget.
package struct MemoryPart: Sendable {
  /// The HTML class suffix (`segment-weights`).
  package let key: String
  /// The legend's word.
  package let label: String
  /// The text bar's letter.
  package let letter: Character
  /// The colour, as red, green and blue.
  package let rgb: (Int, Int, Int)
  /// The bytes of this part in a budget (never negative).
  package let bytes: @Sendable (DeviceBudget) -> Int64

  /// The parts bottom first: what others hold, then what the plan puts there.
  package static let stack: [MemoryPart] = [
    MemoryPart(key: "others", label: "others", letter: "x", rgb: (156, 117, 95)) { $0.otherBytes },
    MemoryPart(key: "weights", label: "weights", letter: "W", rgb: (78, 121, 167)) { $0.weightBytes },
    MemoryPart(key: "gradients", label: "gradients", letter: "G", rgb: (118, 183, 178)) { $0.gradientBytes },
    MemoryPart(key: "optimizer", label: "optimizer states", letter: "S", rgb: (237, 201, 72)) { $0.optimizerBytes },
    MemoryPart(key: "kv", label: "KV cache / state", letter: "K", rgb: (242, 142, 43)) { $0.kvCacheBytes },
    MemoryPart(key: "activations", label: "activations", letter: "A", rgb: (89, 161, 79)) { $0.activationBytes },
    MemoryPart(key: "overheads", label: "overheads", letter: "O", rgb: (176, 122, 161)) { $0.overheadBytes },
  ]

  init(
    key: String,
    label: String,
    letter: Character,
    rgb: (Int, Int, Int),
    bytes: @escaping @Sendable (DeviceBudget) -> Int64
  ) {
    self.key = key
    self.label = label
    self.letter = letter
    self.rgb = rgb
    self.bytes = { max(bytes($0), 0) }
  }
}
