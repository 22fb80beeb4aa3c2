import { describe, expect, it } from 'vitest'
import { firstHostAddress } from './addresses.js'

describe('firstHostAddress', () => {
  it("gives a subnet's first host: Docker's default bridge gateway", () => {
    expect(firstHostAddress('172.17.0.0/16')).toBe('172.17.0.1')
    expect(firstHostAddress('192.168.5.64/26')).toBe('192.168.5.65')
    // an address inside the subnet is taken down to the subnet first
    expect(firstHostAddress('10.1.2.3/8')).toBe('10.0.0.1')
    expect(firstHostAddress('255.255.255.0/24')).toBe('255.255.255.1')
  })

  it('refuses what is not an IPv4 CIDR with room for a host', () => {
    for (const bad of ['fd00::/64', '172.17.0.0', '300.1.1.0/24', '10.0.0.0/31', 'x/16', ''])
      expect(firstHostAddress(bad)).toBeUndefined()
  })
})
