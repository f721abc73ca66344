// The 30 notification lines of the protocol reference (§3.3), verbatim, as printed by signal-cli 0.13.19 in
// multi-account mode with the on-start receive mode (unwrapped). Account +15555550123 (ACI 11111111-…),
// contact Alice +15555550100 (ACI aaaaaaaa-…), group "Test Group". Do not reformat these strings: tests
// and the fake rely on their exact bytes and member order.

export type EnvelopeContent =
  | 'dataMessage'
  | 'editMessage'
  | 'storyMessage'
  | 'syncMessage'
  | 'callMessage'
  | 'receiptMessage'
  | 'typingMessage';

export interface FixtureEntry {
  readonly name: string;
  /** Heading of the example in the reference. */
  readonly title: string;
  /** The envelope's one content member; `null` for the exception forms (no content). */
  readonly content: EnvelopeContent | null;
  readonly line: string;
}

export const FIXTURE_ENTRIES = [
  {
    name: 'text',
    content: 'dataMessage',
    title: 'Text data message (1:1)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000000,"serverReceivedTimestamp":1700000000050,"serverDeliveredTimestamp":1700000000100,"dataMessage":{"timestamp":1700000000000,"message":"Hello from Alice","expiresInSeconds":0,"viewOnce":false}},"account":"+15555550123"}}',
  },
  {
    name: 'group',
    content: 'dataMessage',
    title: 'Group message (groupInfo, type DELIVER)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000001,"serverReceivedTimestamp":1700000000051,"serverDeliveredTimestamp":1700000000101,"dataMessage":{"timestamp":1700000000001,"message":"Hello group","expiresInSeconds":0,"viewOnce":false,"groupInfo":{"groupId":"IPzKUYbvkVV/Rw86czvEv3JWsrqhTQ3v96jfAkWeSOc=","groupName":"Test Group","revision":3,"type":"DELIVER"}}},"account":"+15555550123"}}',
  },
  {
    name: 'groupUpdate',
    content: 'dataMessage',
    title: 'Group update (groupInfo.type = UPDATE, message null)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000002,"serverReceivedTimestamp":1700000000052,"serverDeliveredTimestamp":1700000000102,"dataMessage":{"timestamp":1700000000002,"message":null,"expiresInSeconds":0,"viewOnce":false,"groupInfo":{"groupId":"IPzKUYbvkVV/Rw86czvEv3JWsrqhTQ3v96jfAkWeSOc=","groupName":"Test Group","revision":4,"type":"UPDATE"}}},"account":"+15555550123"}}',
  },
  {
    name: 'reaction',
    content: 'dataMessage',
    title: 'Reaction',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000003,"serverReceivedTimestamp":1700000000053,"serverDeliveredTimestamp":1700000000103,"dataMessage":{"timestamp":1700000000003,"message":null,"expiresInSeconds":0,"viewOnce":false,"reaction":{"emoji":"👍","targetAuthor":"+15555550123","targetAuthorNumber":"+15555550123","targetAuthorUuid":"11111111-2222-4333-8444-555555555555","targetSentTimestamp":1699999995000,"isRemove":false}}},"account":"+15555550123"}}',
  },
  {
    name: 'deliveryReceipt',
    content: 'receiptMessage',
    title: 'Delivery receipt',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000004,"serverReceivedTimestamp":1700000000054,"serverDeliveredTimestamp":1700000000104,"receiptMessage":{"when":1700000000004,"isDelivery":true,"isRead":false,"isViewed":false,"timestamps":[1699999995000]}},"account":"+15555550123"}}',
  },
  {
    name: 'readReceipt',
    content: 'receiptMessage',
    title: 'Read receipt (two timestamps)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000005,"serverReceivedTimestamp":1700000000055,"serverDeliveredTimestamp":1700000000105,"receiptMessage":{"when":1700000000005,"isDelivery":false,"isRead":true,"isViewed":false,"timestamps":[1699999995000,1699999996000]}},"account":"+15555550123"}}',
  },
  {
    name: 'viewedReceipt',
    content: 'receiptMessage',
    title: 'Viewed receipt',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000006,"serverReceivedTimestamp":1700000000056,"serverDeliveredTimestamp":1700000000106,"receiptMessage":{"when":1700000000006,"isDelivery":false,"isRead":false,"isViewed":true,"timestamps":[1699999995000]}},"account":"+15555550123"}}',
  },
  {
    name: 'typingStarted',
    content: 'typingMessage',
    title: 'Typing started (1:1)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000007,"serverReceivedTimestamp":1700000000057,"serverDeliveredTimestamp":1700000000107,"typingMessage":{"action":"STARTED","timestamp":1700000000007}},"account":"+15555550123"}}',
  },
  {
    name: 'typingStopped',
    content: 'typingMessage',
    title: 'Typing stopped (in a group: groupId)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000008,"serverReceivedTimestamp":1700000000058,"serverDeliveredTimestamp":1700000000108,"typingMessage":{"action":"STOPPED","timestamp":1700000000008,"groupId":"IPzKUYbvkVV/Rw86czvEv3JWsrqhTQ3v96jfAkWeSOc="}},"account":"+15555550123"}}',
  },
  {
    name: 'syncSent',
    content: 'syncMessage',
    title: 'Sync: message sent from own other device to a contact (sentMessage)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550123","sourceNumber":"+15555550123","sourceUuid":"11111111-2222-4333-8444-555555555555","sourceName":"","sourceDevice":2,"timestamp":1700000000009,"serverReceivedTimestamp":1700000000059,"serverDeliveredTimestamp":1700000000109,"syncMessage":{"sentMessage":{"destination":"+15555550100","destinationNumber":"+15555550100","destinationUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","timestamp":1700000000009,"message":"sent from my phone","expiresInSeconds":0,"viewOnce":false}}},"account":"+15555550123"}}',
  },
  {
    name: 'syncSentGroup',
    content: 'syncMessage',
    title: 'Sync: sent to a group (destination fields are null, groupInfo present)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550123","sourceNumber":"+15555550123","sourceUuid":"11111111-2222-4333-8444-555555555555","sourceName":"","sourceDevice":2,"timestamp":1700000000010,"serverReceivedTimestamp":1700000000060,"serverDeliveredTimestamp":1700000000110,"syncMessage":{"sentMessage":{"destination":null,"destinationNumber":null,"destinationUuid":null,"timestamp":1700000000010,"message":"sent to group from my phone","expiresInSeconds":0,"viewOnce":false,"groupInfo":{"groupId":"IPzKUYbvkVV/Rw86czvEv3JWsrqhTQ3v96jfAkWeSOc=","groupName":"Test Group","revision":3,"type":"DELIVER"}}}},"account":"+15555550123"}}',
  },
  {
    name: 'syncRead',
    content: 'syncMessage',
    title: 'Sync: read messages',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550123","sourceNumber":"+15555550123","sourceUuid":"11111111-2222-4333-8444-555555555555","sourceName":"","sourceDevice":2,"timestamp":1700000000011,"serverReceivedTimestamp":1700000000061,"serverDeliveredTimestamp":1700000000111,"syncMessage":{"readMessages":[{"sender":"+15555550100","senderNumber":"+15555550100","senderUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","timestamp":1699999995000}]}},"account":"+15555550123"}}',
  },
  {
    name: 'syncBlocked',
    content: 'syncMessage',
    title: 'Sync: blocked list',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550123","sourceNumber":"+15555550123","sourceUuid":"11111111-2222-4333-8444-555555555555","sourceName":"","sourceDevice":2,"timestamp":1700000000012,"serverReceivedTimestamp":1700000000062,"serverDeliveredTimestamp":1700000000112,"syncMessage":{"blockedNumbers":["+15555550111"],"blockedGroupIds":["IPzKUYbvkVV/Rw86czvEv3JWsrqhTQ3v96jfAkWeSOc="]}},"account":"+15555550123"}}',
  },
  {
    name: 'syncContacts',
    content: 'syncMessage',
    title: 'Sync: contacts sync (type)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550123","sourceNumber":"+15555550123","sourceUuid":"11111111-2222-4333-8444-555555555555","sourceName":"","sourceDevice":2,"timestamp":1700000000013,"serverReceivedTimestamp":1700000000063,"serverDeliveredTimestamp":1700000000113,"syncMessage":{"type":"CONTACTS_SYNC"}},"account":"+15555550123"}}',
  },
  {
    name: 'syncEdit',
    content: 'syncMessage',
    title: 'Sync: edit of a message sent from own other device (no unwrapped data fields!)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550123","sourceNumber":"+15555550123","sourceUuid":"11111111-2222-4333-8444-555555555555","sourceName":"","sourceDevice":2,"timestamp":1700000000014,"serverReceivedTimestamp":1700000000064,"serverDeliveredTimestamp":1700000000114,"syncMessage":{"sentMessage":{"destination":"+15555550100","destinationNumber":"+15555550100","destinationUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","editMessage":{"targetSentTimestamp":1700000000009,"dataMessage":{"timestamp":1700000000014,"message":"sent from my phone (edited)","expiresInSeconds":0,"viewOnce":false}}}}},"account":"+15555550123"}}',
  },
  {
    name: 'edit',
    content: 'editMessage',
    title: 'Edit message (incoming)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000015,"serverReceivedTimestamp":1700000000065,"serverDeliveredTimestamp":1700000000115,"editMessage":{"targetSentTimestamp":1700000000000,"dataMessage":{"timestamp":1700000000015,"message":"Hello from Alice (edited)","expiresInSeconds":0,"viewOnce":false}}},"account":"+15555550123"}}',
  },
  {
    name: 'attachments',
    content: 'dataMessage',
    title: 'Message with attachments',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000016,"serverReceivedTimestamp":1700000000066,"serverDeliveredTimestamp":1700000000116,"dataMessage":{"timestamp":1700000000016,"message":"see attached","expiresInSeconds":0,"viewOnce":false,"attachments":[{"contentType":"image/jpeg","filename":"photo.jpg","id":"Xyz123AbC.jpg","size":123456,"width":800,"height":600,"caption":"a caption","uploadTimestamp":1699999999000},{"contentType":"application/pdf","filename":null,"id":"Q9w8E7r6.pdf","size":2048,"width":null,"height":null,"caption":null,"uploadTimestamp":1699999999000}]}},"account":"+15555550123"}}',
  },
  {
    name: 'rich',
    content: 'dataMessage',
    title: 'Quote + mention + link preview + text style + disappearing timer',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000017,"serverReceivedTimestamp":1700000000067,"serverDeliveredTimestamp":1700000000117,"dataMessage":{"timestamp":1700000000017,"message":"￼ hello https://example.com","expiresInSeconds":3600,"viewOnce":false,"quote":{"id":1699999995000,"author":"+15555550123","authorNumber":"+15555550123","authorUuid":"11111111-2222-4333-8444-555555555555","text":"original text","attachments":[{"contentType":"image/png","filename":"q.png"}]},"mentions":[{"name":"+15555550123","number":"+15555550123","uuid":"11111111-2222-4333-8444-555555555555","start":0,"length":1}],"previews":[{"url":"https://example.com","title":"Example","description":"An example page","image":null}],"textStyles":[{"style":"BOLD","start":2,"length":5}]}},"account":"+15555550123"}}',
  },
  {
    name: 'remoteDelete',
    content: 'dataMessage',
    title: 'Remote delete',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000018,"serverReceivedTimestamp":1700000000068,"serverDeliveredTimestamp":1700000000118,"dataMessage":{"timestamp":1700000000018,"message":null,"expiresInSeconds":0,"viewOnce":false,"remoteDelete":{"timestamp":1700000000000}}},"account":"+15555550123"}}',
  },
  {
    name: 'sticker',
    content: 'dataMessage',
    title: 'Sticker',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000019,"serverReceivedTimestamp":1700000000069,"serverDeliveredTimestamp":1700000000119,"dataMessage":{"timestamp":1700000000019,"message":null,"expiresInSeconds":0,"viewOnce":false,"sticker":{"packId":"abcd0102","stickerId":7}}},"account":"+15555550123"}}',
  },
  {
    name: 'expirationTimer',
    content: 'dataMessage',
    title: 'Expiration-timer update (looks like a data message with message:null and expiresInSeconds)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000020,"serverReceivedTimestamp":1700000000070,"serverDeliveredTimestamp":1700000000120,"dataMessage":{"timestamp":1700000000020,"message":null,"expiresInSeconds":604800,"viewOnce":false}},"account":"+15555550123"}}',
  },
  {
    name: 'storyFile',
    content: 'storyMessage',
    title: 'Story with file attachment',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000021,"serverReceivedTimestamp":1700000000071,"serverDeliveredTimestamp":1700000000121,"storyMessage":{"allowsReplies":true,"fileAttachment":{"contentType":"image/jpeg","filename":null,"id":"StoryImg1.jpg","size":50000,"width":1080,"height":1920,"caption":null,"uploadTimestamp":1699999999000}}},"account":"+15555550123"}}',
  },
  {
    name: 'storyText',
    content: 'storyMessage',
    title: 'Text story to a group',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000022,"serverReceivedTimestamp":1700000000072,"serverDeliveredTimestamp":1700000000122,"storyMessage":{"allowsReplies":false,"groupId":"IPzKUYbvkVV/Rw86czvEv3JWsrqhTQ3v96jfAkWeSOc=","textAttachment":{"text":"text story","style":"BOLD","textForegroundColor":"#ffffffff","backgroundColor":"#ff112233"}}},"account":"+15555550123"}}',
  },
  {
    name: 'storyReply',
    content: 'dataMessage',
    title: 'Story reply (storyContext)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000023,"serverReceivedTimestamp":1700000000073,"serverDeliveredTimestamp":1700000000123,"dataMessage":{"timestamp":1700000000023,"message":"nice story","expiresInSeconds":0,"viewOnce":false,"storyContext":{"authorNumber":"+15555550123","authorUuid":"11111111-2222-4333-8444-555555555555","sentTimestamp":1699999993000}}},"account":"+15555550123"}}',
  },
  {
    name: 'syncStory',
    content: 'syncMessage',
    title: 'Sync: story sent from own other device (sentStoryMessage)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550123","sourceNumber":"+15555550123","sourceUuid":"11111111-2222-4333-8444-555555555555","sourceName":"","sourceDevice":2,"timestamp":1700000000024,"serverReceivedTimestamp":1700000000074,"serverDeliveredTimestamp":1700000000124,"syncMessage":{"sentStoryMessage":{"destinationNumber":null,"destinationUuid":null,"allowsReplies":true,"textAttachment":{"text":"text story","style":"BOLD","textForegroundColor":"#ffffffff","backgroundColor":"#ff112233"}}}},"account":"+15555550123"}}',
  },
  {
    name: 'callOffer',
    content: 'callMessage',
    title: 'Call offer',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000025,"serverReceivedTimestamp":1700000000075,"serverDeliveredTimestamp":1700000000125,"callMessage":{"offerMessage":{"id":42,"type":"AUDIO_CALL","opaque":"AQID"}}},"account":"+15555550123"}}',
  },
  {
    name: 'untrustedIdentity',
    content: null,
    title: 'Error: untrusted identity (envelope without content + exception)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"exception":{"message":"Untrusted identity: aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","type":"UntrustedIdentityException"},"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000026,"serverReceivedTimestamp":1700000000026,"serverDeliveredTimestamp":1700000000027},"account":"+15555550123"}}',
  },
  {
    name: 'decryptionFailure',
    content: null,
    title: 'Error: decryption failure (ProtocolInvalidMessageException)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"exception":{"message":"org.signal.libsignal.protocol.InvalidMessageException: invalid PreKeySignalMessage","type":"ProtocolInvalidMessageException"},"envelope":{"source":"+15555550100","sourceNumber":"+15555550100","sourceUuid":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","sourceName":"","sourceDevice":1,"timestamp":1700000000028,"serverReceivedTimestamp":1700000000028,"serverDeliveredTimestamp":1700000000029},"account":"+15555550123"}}',
  },
  {
    name: 'unknownSender',
    content: null,
    title: 'Error: unknown sender (sealed sender could not be resolved) — all source fields null',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"exception":{"message":"some other failure","type":"IOException"},"envelope":{"source":null,"sourceNumber":null,"sourceUuid":null,"sourceName":null,"sourceDevice":null,"timestamp":1700000000030,"serverReceivedTimestamp":1700000000030,"serverDeliveredTimestamp":1700000000031},"account":"+15555550123"}}',
  },
  {
    name: 'exceptionNoEnvelope',
    content: null,
    title: 'Error without envelope (envelope omitted)',
    line: '{"jsonrpc":"2.0","method":"receive","params":{"exception":{"message":"exception without envelope","type":"IOException"},"account":"+15555550123"}}',
  },
] as const satisfies readonly FixtureEntry[];
