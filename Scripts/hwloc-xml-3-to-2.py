#!/usr/bin/env python3
"""Convert an hwloc 3.x XML export to the 2.x format that libhwloc 2.x imports.

Usage: Scripts/hwloc-xml-3-to-2.py IN.xml OUT.xml

Only what changed between the formats is rewritten:
- <topology version="3.0"> becomes version="2.0";
- osdev_type, a bitmask in 3.0 (1 storage, 2 memory, 4 GPU, 8 coproc,
  16 network, 32 openfabrics, 64 DMA), becomes the 2.x enum (0 block, 1 GPU,
  2 network, 3 openfabrics, 4 DMA, 5 coproc); GPU wins over coproc, as hwloc 2
  names nvml devices GPUs;
- pci_type loses the prog-if byte that 3.0 appends ("0302 [..] [..] a1 00");
- <info> elements directly under <topology> (3.0 moved the root infos there)
  are dropped, and so are 3.0's <pci_locality> elements: 2.x warns about both
  and ignores them anyway.
Everything else is copied byte for byte.
"""
import re
import sys

BITS_TO_ENUM = [(4, 1), (16, 2), (32, 3), (64, 4), (8, 5), (1, 0), (2, 0)]


def osdev(match):
    mask = int(match.group(1))
    for bit, value in BITS_TO_ENUM:
        if mask & bit:
            return 'osdev_type="%d"' % value
    return 'osdev_type="0"'


def main():
    source, target = sys.argv[1], sys.argv[2]
    text = open(source, encoding="utf-8").read()
    text, n = re.subn(r'<topology version="3\.\d+"', '<topology version="2.0"', text, count=1)
    if n != 1:
        sys.exit("%s: no <topology version=\"3.x\"> found" % source)
    text = re.sub(r'osdev_type="(\d+)"', osdev, text)
    text = re.sub(r'(pci_type="[0-9a-f]{4} \[[0-9a-f:]+\] \[[0-9a-f:]+\] [0-9a-f]{2}) [0-9a-f]{2}"', r'\1"', text)
    text = re.sub(r'\n  <info name="[^"]*" value="[^"]*"/>', "", text)
    text = re.sub(r'\n  <pci_locality [^>]*/>', "", text)
    open(target, "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
