using LeadScoring.Engine;

namespace LeadScoring.Tests.Engine;

/// <summary>
/// Which of a flat rule set's rules hold, worked out at once from their masks (<see cref="FastRuleSet.Holding(ulong[], ulong[], ulong, ulong, ulong)"/>):
/// the vector path and the one-by-one path both equal the definition, a rule holding when the trait bits hold all of
/// its trait mask and the message bits all of its message mask.
/// </summary>
public class RuleMaskTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(31)]
    [InlineData(63)]
    [InlineData(64)]
    public void TheRulesThatHold_AreThoseWhoseMasksTheBitsHold_InEitherPath(int rules)
    {
        var random = new Random(20261205 + rules);
        for (int round = 0; round < 2_000; round++)
        {
            // Sparse masks (a rule tests a few bits) and bits that often hold them, so both outcomes are common.
            var traitMasks = new ulong[rules];
            var messageMasks = new ulong[rules];
            for (int k = 0; k < rules; k++)
            {
                traitMasks[k] = SparseBits(random);
                messageMasks[k] = SparseBits(random);
            }

            ulong traitBits = random.Next(4) == 0 ? ulong.MaxValue : (ulong)random.NextInt64() | (ulong)random.NextInt64();
            ulong messageBits = random.Next(4) == 0 ? 0 : (ulong)random.NextInt64() | (ulong)random.NextInt64();

            ulong expected = 0;
            for (int k = 0; k < rules; k++)
            {
                if ((traitBits & traitMasks[k]) == traitMasks[k] && (messageBits & messageMasks[k]) == messageMasks[k])
                {
                    expected |= 1UL << k;
                }
            }

            var paddedTraits = FastRuleSet.Padded(traitMasks);
            var paddedMessages = FastRuleSet.Padded(messageMasks);
            paddedTraits.Length.Should().Be((rules + FastRuleSet.MaskBlock - 1) / FastRuleSet.MaskBlock * FastRuleSet.MaskBlock);
            ulong ruleBits = rules >= 64 ? ulong.MaxValue : (1UL << rules) - 1;

            FastRuleSet.Holding(paddedTraits, paddedMessages, ruleBits, traitBits, messageBits).Should().Be(expected, $"{rules} rules, round {round}");
            FastRuleSet.HoldingOneByOne(paddedTraits, paddedMessages, ruleBits, traitBits, messageBits).Should().Be(expected, $"{rules} rules, round {round}");
        }
    }

    private static ulong SparseBits(Random random)
    {
        ulong bits = 0;
        for (int i = random.Next(4); i > 0; i--)
        {
            bits |= 1UL << random.Next(64);
        }

        return bits;
    }
}
