// Notify type names exactly as charon 5.9.8 prints them (the version of the reference logs): its long table
// (NO_PROPOSAL_CHOSEN...) and its short table used inside "[ ... N(NO_PROP) ... ]". Rows are runs of
// consecutive values, [first value, [long, short], ...]; a value in no run prints as charon's "(%d)".
// Names include charon's own spellings ("SECURE PASSWORD_METHOD", "IKEV2_REPLAY_COUNTER_SYNC_SUPPORTED").

type Run = [number, ...[string, string][]];

const runs: Run[] = [
  [1, ['UNSUPPORTED_CRITICAL_PAYLOAD', 'CRIT']],
  [4, ['INVALID_IKE_SPI', 'INVAL_IKE_SPI'], ['INVALID_MAJOR_VERSION', 'INVAL_MAJOR']],
  [7, ['INVALID_SYNTAX', 'INVAL_SYN']],
  [9, ['INVALID_MESSAGE_ID', 'INVAL_MID']],
  [11, ['INVALID_SPI', 'INVAL_SPI']],
  [13, ['ATTRIBUTES_NOT_SUPPORTED', 'ATTR_UNSUP'], ['NO_PROPOSAL_CHOSEN', 'NO_PROP']],
  [
    16,
    ['PAYLOAD_MALFORMED', 'PLD_MAL'],
    ['INVALID_KE_PAYLOAD', 'INVAL_KE'],
    ['INVALID_ID_INFORMATION', 'INVAL_ID'],
    ['INVALID_CERT_ENCODING', 'INVAL_CERTEN'],
    ['INVALID_CERTIFICATE', 'INVAL_CERT'],
    ['CERT_TYPE_UNSUPPORTED', 'CERT_UNSUP'],
    ['INVALID_CERT_AUTHORITY', 'INVAL_CA'],
    ['INVALID_HASH_INFORMATION', 'INVAL_HASH'],
    ['AUTHENTICATION_FAILED', 'AUTH_FAILED'],
  ],
  [
    34,
    ['SINGLE_PAIR_REQUIRED', 'SINGLE_PAIR'],
    ['NO_ADDITIONAL_SAS', 'NO_ADD_SAS'],
    ['INTERNAL_ADDRESS_FAILURE', 'INT_ADDR_FAIL'],
    ['FAILED_CP_REQUIRED', 'FAIL_CP_REQ'],
    ['TS_UNACCEPTABLE', 'TS_UNACCEPT'],
    ['INVALID_SELECTORS', 'INVAL_SEL'],
    ['UNACCEPTABLE_ADDRESSES', 'UNACCEPT_ADDR'],
    ['UNEXPECTED_NAT_DETECTED', 'UNEXPECT_NAT'],
    ['USE_ASSIGNED_HoA', 'ASSIGNED_HoA'],
    ['TEMPORARY_FAILURE', 'TEMP_FAIL'],
    ['CHILD_SA_NOT_FOUND', 'NO_CHILD_SA'],
  ],
  [8192, ['ME_CONNECT_FAILED', 'ME_CONN_FAIL']],
  [12345, ['MS_NOTIFY_STATUS', 'MS_STATUS']],
  [
    16384,
    ['INITIAL_CONTACT', 'INIT_CONTACT'],
    ['SET_WINDOW_SIZE', 'SET_WINSIZE'],
    ['ADDITIONAL_TS_POSSIBLE', 'ADD_TS_POSS'],
    ['IPCOMP_SUPPORTED', 'IPCOMP_SUP'],
    ['NAT_DETECTION_SOURCE_IP', 'NATD_S_IP'],
    ['NAT_DETECTION_DESTINATION_IP', 'NATD_D_IP'],
    ['COOKIE', 'COOKIE'],
    ['USE_TRANSPORT_MODE', 'USE_TRANSP'],
    ['HTTP_CERT_LOOKUP_SUPPORTED', 'HTTP_CERT_LOOK'],
    ['REKEY_SA', 'REKEY_SA'],
    ['ESP_TFC_PADDING_NOT_SUPPORTED', 'ESP_TFC_PAD_N'],
    ['NON_FIRST_FRAGMENTS_ALSO', 'NON_FIRST_FRAG'],
    ['MOBIKE_SUPPORTED', 'MOBIKE_SUP'],
    ['ADDITIONAL_IP4_ADDRESS', 'ADD_4_ADDR'],
    ['ADDITIONAL_IP6_ADDRESS', 'ADD_6_ADDR'],
    ['NO_ADDITIONAL_ADDRESSES', 'NO_ADD_ADDR'],
    ['UPDATE_SA_ADDRESSES', 'UPD_SA_ADDR'],
    ['COOKIE2', 'COOKIE2'],
    ['NO_NATS_ALLOWED', 'NO_NATS'],
    ['AUTH_LIFETIME', 'AUTH_LFT'],
    ['MULTIPLE_AUTH_SUPPORTED', 'MULT_AUTH'],
    ['ANOTHER_AUTH_FOLLOWS', 'AUTH_FOLLOWS'],
    ['REDIRECT_SUPPORTED', 'REDIR_SUP'],
    ['REDIRECT', 'REDIR'],
    ['REDIRECTED_FROM', 'REDIR_FROM'],
    ['TICKET_LT_OPAQUE', 'TKT_LT_OPAK'],
    ['TICKET_REQUEST', 'TKT_REQ'],
    ['TICKET_ACK', 'TKT_ACK'],
    ['TICKET_NACK', 'TKT_NACK'],
    ['TICKET_OPAQUE', 'TKT_OPAK'],
    ['LINK_ID', 'LINK_ID'],
    ['USE_WESP_MODE', 'WESP_MODE'],
    ['ROHC_SUPPORTED', 'ROHC_SUP'],
    ['EAP_ONLY_AUTHENTICATION', 'EAP_ONLY'],
    ['CHILDLESS_IKEV2_SUPPORTED', 'CHDLESS_SUP'],
    ['QUICK_CRASH_DETECTION', 'CRASH_DET'],
    ['IKEV2_MESSAGE_ID_SYNC_SUPPORTED', 'MSG_ID_SYN_SUP'],
    ['IKEV2_REPLAY_COUNTER_SYNC_SUPPORTED', 'RPL_CTR_SYN_SUP'],
    ['IKEV2_MESSAGE_ID_SYNC', 'MSG_ID_SYN'],
    ['IPSEC_REPLAY_COUNTER_SYNC', 'RPL_CTR_SYN'],
    ['SECURE PASSWORD_METHOD', 'SEC_PASSWD'],
    ['PSK_PERSIST', 'PSK_PST'],
    ['PSK_CONFIRM', 'PSK_CFM'],
    ['ERX_SUPPORTED', 'ERX_SUP'],
    ['IFOM_CAPABILITY', 'IFOM_CAP'],
    ['SENDER_REQUEST_ID', 'SENDER_REQ_ID'],
    ['FRAGMENTATION_SUPPORTED', 'FRAG_SUP'],
    ['SIGNATURE_HASH_ALGORITHMS', 'HASH_ALG'],
  ],
  [16435, ['USE_PPK', 'USE_PPK'], ['PPK_IDENTITY', 'PPK_ID'], ['NO_PPK_AUTH', 'NO_PPK']],
  // IKEv1 and vendor values charon also names, as they can show up in IKEv2 messages of odd peers.
  [24578, ['INITIAL_CONTACT', 'INITIAL_CONTACT']],
  [36136, ['DPD_R_U_THERE', 'DPD'], ['DPD_R_U_THERE_ACK', 'DPD_ACK']],
  [40501, ['UNITY_LOAD_BALANCE', 'UNITY_LB']],
  [
    40961,
    ['USE_BEET_MODE', 'BEET_MODE'],
    ['ME_MEDIATION', 'ME_MED'],
    ['ME_ENDPOINT', 'ME_EP'],
    ['ME_CALLBACK', 'ME_CB'],
    ['ME_CONNECTID', 'ME_CID'],
    ['ME_CONNECTKEY', 'ME_CKEY'],
    ['ME_CONNECTAUTH', 'ME_CAUTH'],
    ['ME_RESPONSE', 'ME_R'],
    ['RADIUS_ATTRIBUTE', 'RADIUS'],
  ],
];

const table = new Map<number, [string, string]>();
for (const [first, ...names] of runs) names.forEach((n, i) => table.set(first + i, n));

/** charon's %N fallback for a value missing from an enum table. */
export const unnamed = (v: number): string => `(${v})`;

/** Short form, as inside charon's message summaries: NO_PROP, INVAL_KE, AUTH_FAILED, TS_UNACCEPT... */
export const notifyName = (type: number): string => table.get(type)?.[1] ?? unnamed(type);

/** Long form, as in "received NO_PROPOSAL_CHOSEN notify error". */
export const notifyLongName = (type: number): string => table.get(type)?.[0] ?? unnamed(type);
