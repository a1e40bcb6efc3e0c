/// A PCI address: domain, bus, device and function.
///
/// Tools print it differently: nvidia-smi as `00000000:2A:00.0` (8-digit domain,
/// upper case), hwloc and NCCL as `0000:2a:00.0`, lspci as `2a:00.0`. All parse to
/// the same value, and ``description`` prints the hwloc form, so GPUs from
/// different sources join on equal values.
package struct PCIBusID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
  /// PCI domain (segment); nvidia-smi prints 32 bits of it, hwloc 16.
  package var domain: UInt32
  /// Bus number, 0–255.
  package var bus: UInt8
  /// Device number, 0–31.
  package var device: UInt8
  /// Function number, 0–7.
  package var function: UInt8

  /// Creates an address from its parts.
  package init(domain: UInt32, bus: UInt8, device: UInt8, function: UInt8) {
    self.domain = domain
    self.bus = bus
    self.device = device
    self.function = function
  }

  /// Parses `DDDDDDDD:BB:DD.F`, `DDDD:BB:DD.F` or `BB:DD.F` (hex, any case).
  /// Returns nil for anything else, including NVML's "not visible" placeholders.
  package init?(_ text: String) {
    let parts = text.trimmingWhitespace().split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2 || parts.count == 3 else { return nil }
    var domain: UInt32 = 0
    if parts.count == 3 {
      guard parts[0].count <= 8, let value = UInt32(parts[0], radix: 16) else { return nil }
      domain = value
    }
    let busText = parts[parts.count - 2]
    let deviceFunction = parts[parts.count - 1].split(separator: ".", omittingEmptySubsequences: false)
    guard busText.count <= 2, let bus = UInt8(busText, radix: 16),
      deviceFunction.count == 2, deviceFunction[0].count <= 2,
      let device = UInt8(deviceFunction[0], radix: 16), device < 32,
      deviceFunction[1].count == 1, let function = UInt8(deviceFunction[1], radix: 16), function < 8
    else { return nil }
    self.init(domain: domain, bus: bus, device: device, function: function)
  }

  /// hwloc's and NCCL's form, `0000:2a:00.0`: lower case, at least 4 domain digits.
  package var description: String {
    "\(Self.hex(domain, digits: 4)):\(Self.hex(UInt32(bus), digits: 2)):\(Self.hex(UInt32(device), digits: 2)).\(function)"
  }

  private static func hex(_ value: UInt32, digits: Int) -> String {
    var text = String(value, radix: 16)
    while text.count < digits { text = "0" + text }
    return text
  }

  /// Orders by domain, bus, device, function: the order nvidia-smi numbers GPUs in.
  package static func < (lhs: PCIBusID, rhs: PCIBusID) -> Bool {
    (lhs.domain, lhs.bus, lhs.device, lhs.function) < (rhs.domain, rhs.bus, rhs.device, rhs.function)
  }

  /// Decodes the value from its JSON form.
  package init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    let text = try container.decode(String.self)
    guard let value = PCIBusID(text) else {
      throw DecodingError.dataCorruptedError(
        in: container,
        debugDescription: "'\(text)' is not a PCI bus id such as 0000:18:00.0"
      )
    }
    self = value
  }

  /// Encodes the value in its JSON form.
  package func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}
